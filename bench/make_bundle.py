#!/usr/bin/env python3
"""Builds the upstream's fixed searchset Bundle for the proxy benchmark.

Observations of one Synthea patient (Buster Hoeger) from the repo's fixture, as a FHIR R4
server answers `GET [base]/Observation?patient=ID`: entries with absolute `fullUrl`s under
the upstream base, `search.mode: match`, references made literal (`Patient/ID`,
`Encounter/ID`), and `self`/`next` links, so the gateway has real work rewriting links
and, for a patient token, checking every entry against the compartment.

Usage: make_bundle.py FIXTURE UPSTREAM_BASE OUT_DIR [TARGET_BYTES]
Writes OUT_DIR/Observation.json (the Bundle, compact JSON like most servers send) and
OUT_DIR/metadata.json (a minimal CapabilityStatement for the adapter's readiness check).
"""
import json
import sys


def literal(ref, types):
    """urn:uuid:X -> Type/X when X is the id of a resource of that type in the fixture."""
    if ref.startswith("urn:uuid:"):
        rid = ref[len("urn:uuid:"):]
        if rid in types:
            return f"{types[rid]}/{rid}"
    return ref


def fix_refs(value, types):
    if isinstance(value, dict):
        return {
            k: (literal(v, types) if k == "reference" and isinstance(v, str) else fix_refs(v, types))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [fix_refs(v, types) for v in value]
    return value


def main():
    fixture, base, out_dir = sys.argv[1], sys.argv[2].rstrip("/"), sys.argv[3]
    target = int(sys.argv[4]) if len(sys.argv) > 4 else 20000
    with open(fixture, encoding="utf-8") as f:
        source = json.load(f)
    types = {e["resource"]["id"]: e["resource"]["resourceType"] for e in source["entry"]}
    patient = next(e["resource"]["id"] for e in source["entry"] if e["resource"]["resourceType"] == "Patient")
    observations = [fix_refs(e["resource"], types) for e in source["entry"]
                    if e["resource"]["resourceType"] == "Observation"]
    query = f"patient={patient}&_count=20"
    bundle = {
        "resourceType": "Bundle",
        "id": "bench-searchset",
        "meta": {"lastUpdated": "2024-01-01T00:00:00Z"},
        "type": "searchset",
        "total": len(observations),
        "link": [
            {"relation": "self", "url": f"{base}/Observation?{query}"},
            {"relation": "next", "url": f"{base}/Observation?{query}&_getpagesoffset=20"},
        ],
        "entry": [],
    }
    for obs in observations:
        obs = dict(obs)
        obs["meta"] = {"versionId": "1", "lastUpdated": "2024-01-01T00:00:00Z", **obs.get("meta", {})}
        bundle["entry"].append({
            "fullUrl": f"{base}/Observation/{obs['id']}",
            "resource": obs,
            "search": {"mode": "match"},
        })
        if len(json.dumps(bundle, separators=(",", ":"))) >= target:
            break
    text = json.dumps(bundle, separators=(",", ":"))
    with open(f"{out_dir}/Observation.json", "w", encoding="utf-8") as f:
        f.write(text)
    capability = {
        "resourceType": "CapabilityStatement", "status": "active", "date": "2024-01-01",
        "kind": "instance", "fhirVersion": "4.0.1", "format": ["json"],
        "rest": [{"mode": "server", "resource": [{"type": "Observation",
                                                   "interaction": [{"code": "search-type"}]}]}],
    }
    with open(f"{out_dir}/metadata.json", "w", encoding="utf-8") as f:
        json.dump(capability, f)
    print(f"{patient} {len(bundle['entry'])} {len(text)}")


if __name__ == "__main__":
    main()
