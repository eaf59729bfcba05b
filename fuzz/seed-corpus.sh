#!/usr/bin/env bash
# Writes the seed corpora of the fuzz targets into fuzz/corpus/<target>/ (not committed; the
# fuzzer adds what it finds there). Run from anywhere; needs `cargo build --release` done.
#   decode_envelope: every ```json example of docs/EVENTS.md, every line of
#                    scenarios/london-2008.jsonl
#   export_line:     exports of a 30-record history signed by the test key the target
#                    verifies with (crates/golive-verify/tests/export.rs), some with records
#                    carrying the test trust's origin signatures, and a real export of
#                    the London scenario made by `golive ingest` + `golive audit export`
#   store_codec:     the golden stored records of every kind, formats 1, 2 and 3
#                    (crates/golive-store/tests/data)
#   merkle_proofs:   none (structured input; libFuzzer starts from empty)
#   origin_signature: genuine and bad `Golive-Signature` headers with their events, in the
#                    target's layout (crates/golive-verify/tests/origin.rs)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
corpus="$root/fuzz/corpus"
golive="$root/target/release/golive"
mkdir -p "$corpus"/{decode_envelope,export_line,store_codec,merkle_proofs,origin_signature}

python3 - "$root" "$corpus/decode_envelope" <<'PY'
import json, sys, pathlib
root, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
md = (root / "docs/EVENTS.md").read_text()
blocks, cur = [], None
for line in md.splitlines():
    if cur is None and line.strip() == "```json":
        cur = []
    elif cur is not None and line.strip() == "```":
        blocks.append("\n".join(cur)); cur = None
    elif cur is not None:
        cur.append(line)
for i, b in enumerate(blocks):
    (out / f"events-md-{i:02}.json").write_text(b + "\n")
    (out / f"events-md-{i:02}-compact.json").write_text(json.dumps(json.loads(b), separators=(",", ":"), ensure_ascii=False))
for i, line in enumerate((root / "scenarios/london-2008.jsonl").read_text().splitlines()):
    (out / f"london-{i + 1:03}.json").write_text(line)
PY

GOLIVE_FUZZ_SEED_DIR="$corpus/export_line" cargo test --release -q \
  --manifest-path "$root/Cargo.toml" -p golive-verify --test export \
  -- --ignored --exact write_fuzz_seed_exports >/dev/null
GOLIVE_FUZZ_SEED_DIR="$corpus/origin_signature" cargo test --release -q \
  --manifest-path "$root/Cargo.toml" -p golive-verify --test origin \
  -- --ignored --exact write_fuzz_seed_origin >/dev/null
data="$(mktemp -d)"
"$golive" ingest "$root/scenarios/london-2008.jsonl" --data "$data" >/dev/null
"$golive" audit export --data "$data" --out "$corpus/export_line/london-2008-export.jsonl" 2>/dev/null
rm -rf "$data"

for v in 1 2 3; do
  n=0
  while read -r kind hex; do
    n=$((n + 1))
    printf '%s' "$hex" | xxd -r -p > "$corpus/store_codec/golden-v$v-$n-$kind.bin"
  done < "$root/crates/golive-store/tests/data/golden_records_v$v.txt"
done

for t in decode_envelope export_line store_codec merkle_proofs origin_signature; do
  echo "$t: $(find "$corpus/$t" -type f | wc -l) seed files"
done
