import { expect } from "chai";
import { entryName, formatEntries } from "../../../gates/artifact/entries";

describe("the entries list of a release", () => {
  it("names every directory, file with its exec bit, and symlink, sorted by bytes as LC_ALL=C sort sorts them", () => {
    const text = formatEntries({
      manifest: [
        { path: "run.sh", executable: true },
        { path: "app/b.py", executable: false },
        { path: "Z.txt", executable: false },
      ],
      symlinks: [{ path: "app/alias.py" }],
      directoryPaths: ["app", "empty"],
    });
    expect(text).to.equal(
      ["d app", "d empty", "f - Z.txt", "f - app/b.py", "f x run.sh", "l app/alias.py", ""].join(
        "\n",
      ),
    );
  });

  it("lists a parent directory the tar holds only implicitly, once", () => {
    const text = formatEntries({
      manifest: [{ path: "a/b/c.py", executable: false }],
      symlinks: [],
      directoryPaths: ["a"],
    });
    expect(text).to.equal("d a\nd a/b\nf - a/b/c.py\n");
  });

  it("escapes a backslash and a newline in a name, as the server's listing does", () => {
    expect(entryName("a\\b\nc")).to.equal("a\\\\b\\nc");
  });
});
