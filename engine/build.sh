#!/usr/bin/env bash
# npm run engine: builds the Pulumi engine this project runs on, from source, on this machine.
#   - the CLI v3.248.0, from the Go module proxy, through this folder's tools module (go.mod,
#     go.sum: every module it needs is pinned and checked);
#   - the Node.js language host v3.248.0 and the command provider v1.2.1 (with its framework,
#     pulumi-go-provider v1.3.0), from their unmodified upstream source archives, which the
#     proxy does not serve: $SSOT_ENGINE_SOURCES (see below for where else it looks);
#   - weed, the S3-compatible server the team-backend tests keep a shared state in (SeaweedFS),
#     from the Go module proxy, through a tools module of its own (s3/go.mod, s3/go.sum).
# Everything lands in $SSOT_ENGINE_DIR (default .ssot-deploy/engine, git-ignored): bin/ holds
# the binaries (the language host beside pulumi, where the CLI looks for it) and home/ is
# the PULUMI_HOME whose plugin cache holds the provider, so ~/.pulumi is never touched.
# A piece whose inputs have not changed since its last build is not built again.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
out=${SSOT_ENGINE_DIR:-$root/.ssot-deploy/engine}
# The source archives: $SSOT_ENGINE_SOURCES, else the shared folder beside this project's
# checkout, else the workplace's own (/work/shared/engine), where a fresh clone elsewhere finds them.
if [ -n "${SSOT_ENGINE_SOURCES:-}" ]; then
  sources=$SSOT_ENGINE_SOURCES
elif [ -d "$root/../shared/engine" ]; then
  sources=$root/../shared/engine
else
  sources=/work/shared/engine
fi
bin=$out/bin
home=$out/home

PULUMI_VERSION=v3.248.0
COMMAND_VERSION=1.2.1
# SeaweedFS has no tagged Go module version; s3/go.mod pins this commit's pseudo-version.
WEED_VERSION=v0.0.0-20261109003541-7506e5f91cd6
# The archives this script builds, pinned by sha256: a different file is refused, not built.
LANGUAGE_ARCHIVE=pulumi-language-nodejs-v3.248.0.tar.gz
LANGUAGE_SHA256=32215713ee6ca64052b6c33c2233025ef6bb98582a69ca39e68b998c74657003
PROVIDER_ARCHIVE=pulumi-command-provider-v1.2.1.tar.gz
PROVIDER_SHA256=aa083673cd793cf30ca8647c038ec52b6d4ca9a69fc9db88fb3ad699e554a68a
FRAMEWORK_ARCHIVE=pulumi-go-provider-v1.3.0.tar.gz
FRAMEWORK_SHA256=c7b849bc9b6786ccc12721c7910c7d8c126fbb4a031a8d98b9f058b5764448b4
SDK_VERSION_FLAG=github.com/pulumi/pulumi/sdk/v3/go/common/version.Version
COMMAND_VERSION_FLAG=github.com/pulumi/pulumi-command/provider/pkg/version.Version

say() { printf 'engine: %s\n' "$*"; }
fail() {
  printf 'engine: BLOCKED: %s\n' "$1" >&2
  printf 'engine: next: %s\n' "$2" >&2
  exit 1
}
elapsed() { echo "$(($(date +%s) - $1)) s"; }

command -v go >/dev/null ||
  fail "go is not on PATH; the engine is built from source with Go 1.25.11 or later" \
    "install Go (https://go.dev/dl/), then run npm run engine again"
go_version=$(go env GOVERSION)
# The modules ask for go1.25.11; an older go (1.21 or later) fetches that toolchain from the
# module proxy by itself, unless GOTOOLCHAIN=local forbids it.
if [ "$(printf '%s\n%s\n' go1.25.11 "$go_version" | sort -V | head -n1)" != go1.25.11 ]; then
  say "$go_version is older than go1.25.11: go fetches go1.25.11 from the module proxy"
fi

for pair in "$LANGUAGE_ARCHIVE:$LANGUAGE_SHA256" "$PROVIDER_ARCHIVE:$PROVIDER_SHA256" \
  "$FRAMEWORK_ARCHIVE:$FRAMEWORK_SHA256"; do
  file=$sources/${pair%%:*}
  [ -f "$file" ] || fail "$file is missing: the Go module proxy does not serve the Node.js language host or the command provider, so they are built from their upstream source archives" \
    "set SSOT_ENGINE_SOURCES to the folder that holds $LANGUAGE_ARCHIVE, $PROVIDER_ARCHIVE and $FRAMEWORK_ARCHIVE; or, on a machine with internet access, install the official CLI (curl -fsSL https://get.pulumi.com | sh), which fetches the language host and the command provider itself, and set SSOT_PULUMI to its path"
  got=$(sha256sum "$file" | cut -d' ' -f1)
  [ "$got" = "${pair#*:}" ] || fail "$file has sha256 $got, not the pinned ${pair#*:}" \
    "use the archive of the pinned upstream tag (see engine/README.md)"
done

mkdir -p "$bin" "$home" "$out/stamps"
export GOFLAGS=-mod=mod

# A piece is rebuilt when the digest of its inputs differs from the one its last build left:
# what it is built from, the Go version, and RECIPE, raised whenever a build step changes.
RECIPE=1
stamp_of() { printf '%s\n' "$@" "$go_version" "$RECIPE" | sha256sum | cut -d' ' -f1; }
fresh() { [ -x "$bin/$1" ] && [ "$(cat "$out/stamps/$1" 2>/dev/null)" = "$2" ]; }

unpack() {
  rm -rf "$out/src/$2"
  mkdir -p "$out/src"
  tar -xzf "$sources/$1" -C "$out/src"
  [ -d "$out/src/$2" ] || fail "$1 does not unpack into $2/" "use the archive of the pinned upstream tag"
}

# 1. The CLI, from the proxy. `go build` of the tool path in this module resolves the
# versions go.mod pins (a bare `go build` of the package path would take the newest pkg/v3).
cli_stamp=$(stamp_of "$(cat "$here/go.mod" "$here/go.sum" | sha256sum)")
if fresh pulumi "$cli_stamp"; then
  say "pulumi $PULUMI_VERSION: built already"
else
  started=$(date +%s)
  say "pulumi $PULUMI_VERSION: building from the Go module proxy (cold: 4 to 7 min on 2 cores)"
  (cd "$here" && GOFLAGS=-mod=readonly go build -o "$bin/pulumi" \
    -ldflags "-X $SDK_VERSION_FLAG=$PULUMI_VERSION" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi)
  echo "$cli_stamp" >"$out/stamps/pulumi"
  say "pulumi $PULUMI_VERSION: built in $(elapsed "$started")"
fi

# 2. The Node.js language host. Upstream points pkg/v3 and sdk/v3 at folders of its own
# repository; here they are the released modules of the same tag.
language_stamp=$(stamp_of "$LANGUAGE_SHA256")
if fresh pulumi-language-nodejs "$language_stamp"; then
  say "pulumi-language-nodejs $PULUMI_VERSION: built already"
else
  started=$(date +%s)
  say "pulumi-language-nodejs $PULUMI_VERSION: building from $LANGUAGE_ARCHIVE"
  unpack "$LANGUAGE_ARCHIVE" pulumi-language-nodejs-v3.248.0
  (cd "$out/src/pulumi-language-nodejs-v3.248.0" &&
    go mod edit -dropreplace github.com/pulumi/pulumi/pkg/v3 -dropreplace github.com/pulumi/pulumi/sdk/v3 \
      -require "github.com/pulumi/pulumi/pkg/v3@$PULUMI_VERSION" \
      -require "github.com/pulumi/pulumi/sdk/v3@$PULUMI_VERSION" &&
    go mod tidy &&
    go build -o "$bin/pulumi-language-nodejs" -ldflags "-X $SDK_VERSION_FLAG=$PULUMI_VERSION" .)
  echo "$language_stamp" >"$out/stamps/pulumi-language-nodejs"
  say "pulumi-language-nodejs $PULUMI_VERSION: built in $(elapsed "$started")"
fi

# 3. The command provider, against the framework version its go.mod names, unpacked beside it.
provider_stamp=$(stamp_of "$PROVIDER_SHA256" "$FRAMEWORK_SHA256")
if fresh pulumi-resource-command "$provider_stamp"; then
  say "pulumi-resource-command $COMMAND_VERSION: built already"
else
  started=$(date +%s)
  say "pulumi-resource-command $COMMAND_VERSION: building from $PROVIDER_ARCHIVE and $FRAMEWORK_ARCHIVE"
  unpack "$FRAMEWORK_ARCHIVE" pulumi-go-provider-v1.3.0
  unpack "$PROVIDER_ARCHIVE" pulumi-command-provider-v1.2.1
  (cd "$out/src/pulumi-command-provider-v1.2.1" &&
    go mod edit -replace "github.com/pulumi/pulumi-go-provider=$out/src/pulumi-go-provider-v1.3.0" &&
    go mod tidy &&
    go build -o "$bin/pulumi-resource-command" -ldflags "-X $COMMAND_VERSION_FLAG=$COMMAND_VERSION" \
      ./cmd/pulumi-resource-command)
  echo "$provider_stamp" >"$out/stamps/pulumi-resource-command"
  rm -f "$out/stamps/plugin"
  say "pulumi-resource-command $COMMAND_VERSION: built in $(elapsed "$started")"
fi

# The provider goes into this engine's own plugin cache, so the CLI never takes a command
# provider from PATH or downloads one.
if [ "$(cat "$out/stamps/plugin" 2>/dev/null)" != "$provider_stamp" ] ||
  [ ! -x "$home/plugins/resource-command-v$COMMAND_VERSION/pulumi-resource-command" ]; then
  if ! said=$(PULUMI_HOME=$home PULUMI_SKIP_UPDATE_CHECK=true "$bin/pulumi" plugin install resource \
    command "v$COMMAND_VERSION" --file "$bin/pulumi-resource-command" --reinstall 2>&1); then
    fail "pulumi plugin install of the command provider failed: $said" "rm -rf $out, then npm run engine"
  fi
  echo "$provider_stamp" >"$out/stamps/plugin"
fi

# 4. The S3 server, only for the tests. Its tools module is apart from the CLI's, so neither
# moves the versions of the modules the other pins. It asks for go1.26.6, which an older go
# fetches from the module proxy as above.
weed_stamp=$(stamp_of "$(cat "$here/s3/go.mod" "$here/s3/go.sum" | sha256sum)")
if fresh weed "$weed_stamp"; then
  say "weed $WEED_VERSION: built already"
else
  started=$(date +%s)
  say "weed $WEED_VERSION: building from the Go module proxy (cold: about 7 min on 2 cores)"
  (cd "$here/s3" && GOFLAGS=-mod=readonly go build -o "$bin/weed" github.com/seaweedfs/seaweedfs/weed)
  echo "$weed_stamp" >"$out/stamps/weed"
  say "weed $WEED_VERSION: built in $(elapsed "$started")"
fi

"$bin/pulumi" version | grep -qx "$PULUMI_VERSION" ||
  fail "$bin/pulumi reports $("$bin/pulumi" version), not $PULUMI_VERSION" "rm -rf $out, then npm run engine"
say "ready: $bin (PULUMI_HOME $home); npm run pulumi -- <args> runs it"
