"""Verifies an in-toto bundle (one DSSE envelope a line) with securesystemslib and the
in-toto attestation framework's own bindings, never with ssot-deploy's code.

usage: verify_intoto.py BUNDLE PUBLIC_KEY_PEM
Prints one JSON line per statement; exits 1 at the first envelope or statement that fails.
"""

import hashlib
import json
import sys

from cryptography.hazmat.primitives import serialization
from google.protobuf import json_format
from in_toto_attestation.predicates.provenance.v1 import provenance_pb2
from in_toto_attestation.predicates.test_result.v0 import test_result_pb2
from in_toto_attestation.v1 import statement_pb2
from in_toto_attestation.v1.statement import Statement
from securesystemslib.dsse import Envelope
from securesystemslib.signer import SSlibKey

# Predicates with a schema in the framework: parsed strictly, an unknown field fails.
SCHEMAS = {
    "https://slsa.dev/provenance/v1": provenance_pb2.Provenance,
    "https://in-toto.io/attestation/test-result/v0.1": test_result_pb2.TestResult,
}


def key_from_pem(pem: bytes) -> SSlibKey:
    public = serialization.load_pem_public_key(pem)
    spki = public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    # The key id the signer publishes: sha256 of the key's SubjectPublicKeyInfo.
    keyid = hashlib.sha256(spki).hexdigest()
    return SSlibKey(keyid, "ed25519", "ed25519", {"public": raw.hex()})


def main() -> int:
    bundle, pem = sys.argv[1], sys.argv[2]
    with open(pem, "rb") as f:
        key = key_from_pem(f.read())
    with open(bundle, encoding="utf-8") as f:
        lines = [line for line in f.read().split("\n") if line]
    for n, line in enumerate(lines, 1):
        envelope = Envelope.from_dict(json.loads(line))
        if envelope.payload_type != "application/vnd.in-toto+json":
            print(f"line {n}: payload type {envelope.payload_type}", file=sys.stderr)
            return 1
        try:
            envelope.verify([key], 1)
        except Exception as e:  # securesystemslib raises VerificationError
            print(f"line {n}: {type(e).__name__}: {e}", file=sys.stderr)
            return 1
        body = json.loads(envelope.payload)
        pb = json_format.ParseDict(body, statement_pb2.Statement())
        Statement.copy_from_pb(pb).validate()
        schema = SCHEMAS.get(pb.predicate_type)
        if schema is not None:
            json_format.ParseDict(body["predicate"], schema())
        print(
            json.dumps(
                {
                    "line": n,
                    "predicateType": pb.predicate_type,
                    "keyid": key.keyid,
                    "subject": [
                        {"name": s.name, "sha256": s.digest["sha256"]} for s in pb.subject
                    ],
                    "schema": schema is not None,
                }
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
