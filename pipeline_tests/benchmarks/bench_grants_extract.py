"""Benchmark: streaming a Grants.gov XML extract through `iter_extract_records` +
`normalise_extract_record` against a bare `ET.iterparse` loop that only clears elements.

    .venv/bin/python pipeline_tests/benchmarks/bench_grants_extract.py [--sizes-mb 300,30]

Generates current-format extracts (namespaced root, ~85% synopses and ~15% forecasts, records
of 1.5-3 KB with double-escaped contact text) streamed to temporary files of each size, plus a
zip of the smallest one read through `open_extract`. Every measurement runs in a fresh
subprocess, so its peak RSS (ru_maxrss) is its own. Targets: >= 20,000 records/s and peak RSS
< 300 MB, independent of the file size.

Measured on the development container (2 vCPU AMD EPYC, Python 3.11.7, expat through the C
ElementTree accelerator), two runs, the slower one shown:

    file                            records  seconds  records/s  peak RSS MB  vs baseline
    300 MB baseline iterparse        103100     1.95      52866         11.6            -
    300 MB records+normalise         103100     4.12      25033         19.4        2.11x
    30 MB baseline iterparse          10400     0.20      52732         11.6            -
    30 MB records+normalise           10400     0.41      25479         19.3        2.05x
    30 MB zip open_extract            10400     0.49      21055         19.3        2.45x

Both targets met: ~25,000 records/s (~21,000 through a zip) and ~19 MB peak RSS for 30 MB
and 300 MB alike. Of the ~40 us per record, ~19 us is iterparse itself (the baseline), ~3 us
building the raw dict and ~15 us normalising (GrantRecord construction ~3 us, markup cleaning
of the double-escaped contact text ~2 us). What made the difference while profiling: text
cleaners that return early on clean text instead of split/join on every field, a per-tag
cache of (local name, repeatable) so each child costs one dict lookup, and dropping regex
splits of single codes. Going further would mean a faster parser (lxml would be a new
dependency), not more work in this loop.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
NAMESPACE = "http://apply.grants.gov/system/OpportunityDetail-V1.0"

_WORD_TEXT = (
    "community health youth education STEM after-school literacy rural behavioral opioid "
    "treatment coastal wetland oyster reef restoration agriculture risk management research "
    "innovation arts tribal housing program capacity training evaluation outreach services "
    "partnership technical assistance data infrastructure resilience workforce prevention"
)
WORDS = _WORD_TEXT.split()
AGENCIES = (
    ("HHS-HRSA", "Health Resources and Services Administration"),
    ("ED", "Department of Education"),
    ("DOC-NOAA", "National Oceanic and Atmospheric Administration"),
    ("USDA-RMA", "Risk Management Agency"),
    ("DOD-ONR", "Office of Naval Research"),
    ("NEA", "National Endowment for the Arts"),
    ("HUD", "Department of Housing and Urban Development"),
)

# ru_maxrss survives exec on Linux (a child would report this process's peak), so children read
# their own high-water mark from /proc when it is there.
PEAK_RSS = """
def peak_rss_mb():
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
"""

BASELINE = (
    PEAK_RSS
    + """
import sys, time
import xml.etree.ElementTree as ET
started = time.perf_counter()
records = 0
root = None
for event, element in ET.iterparse(sys.argv[1], events=("start", "end")):
    if root is None:
        root = element
    elif event == "end" and len(element) and element is not root:
        records += 1
        element.clear()
        del root[:]
seconds = time.perf_counter() - started
print(records, seconds, peak_rss_mb())
"""
)

PARSE = (
    PEAK_RSS
    + """
import sys, time
from pipeline.lib.grants.extract import iter_extract_records, open_extract
from pipeline.lib.grants.extract_records import normalise_extract_record
started = time.perf_counter()
records = 0
with open_extract(sys.argv[1]) as stream:
    for payload in iter_extract_records(stream):
        normalise_extract_record(payload)
        records += 1
seconds = time.perf_counter() - started
print(records, seconds, peak_rss_mb())
"""
)


def _sentence(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words))


def _record(rng: random.Random, i: int) -> str:
    forecast = rng.random() < 0.15
    code, agency = AGENCIES[i % len(AGENCIES)]
    tag = "OpportunityForecastDetail_1_0" if forecast else "OpportunitySynopsisDetail_1_0"
    month, day = rng.randint(1, 12), rng.randint(1, 28)
    date = f"{month:02d}{day:02d}2027"
    fields = [
        f"<OpportunityID>{300000 + i}</OpportunityID>",
        f"<OpportunityTitle>{_sentence(rng, rng.randint(5, 12)).title()}</OpportunityTitle>",
        f"<OpportunityNumber>{code}-2027-{i:06d}</OpportunityNumber>",
        "<OpportunityCategory>D</OpportunityCategory>",
        "<FundingInstrumentType>G</FundingInstrumentType>",
        f"<CategoryOfFundingActivity>{rng.choice(['ED', 'HL', 'ENV', 'ST'])}</CategoryOfFundingActivity>",
        f"<CFDANumbers>{rng.randint(10, 99)}.{rng.randint(100, 999)}</CFDANumbers>",
        "<EligibleApplicants>12</EligibleApplicants>",
        f"<EligibleApplicants>{rng.choice(['00', '06', '20', '25'])}</EligibleApplicants>",
        "<AdditionalInformationOnEligibility>"
        f"{_sentence(rng, rng.randint(10, 40))}</AdditionalInformationOnEligibility>",
        f"<AgencyCode>{code}</AgencyCode>",
        f"<AgencyName>{agency}</AgencyName>",
        f"<PostDate>{month:02d}{day:02d}2026</PostDate>",
    ]
    if forecast:
        fields += [
            f"<EstimatedSynopsisPostDate>{date}</EstimatedSynopsisPostDate>",
            "<FiscalYear>2027</FiscalYear>",
            f"<EstimatedSynopsisCloseDate>{date}</EstimatedSynopsisCloseDate>",
        ]
    else:
        fields.append(f"<CloseDate>{date}</CloseDate>")
    fields += [
        f"<LastUpdatedDate>{month:02d}{day:02d}2026</LastUpdatedDate>",
        f"<AwardCeiling>{rng.choice(['none', '0', str(rng.randint(1, 50) * 25000)])}</AwardCeiling>",
        f"<AwardFloor>{rng.randint(0, 10) * 5000}</AwardFloor>",
        f"<EstimatedTotalProgramFunding>{rng.randint(1, 200) * 50000}</EstimatedTotalProgramFunding>",
        f"<ExpectedNumberOfAwards>{rng.randint(1, 40)}</ExpectedNumberOfAwards>",
        f"<Description>{_sentence(rng, rng.randint(60, 220))}</Description>",
        "<Version>Synopsis 1</Version>",
        "<CostSharingOrMatchingRequirement>No</CostSharingOrMatchingRequirement>",
        f"<ArchiveDate>{date}</ArchiveDate>",
        "<AdditionalInformationURL>https://www.example.org/nofo</AdditionalInformationURL>",
        "<GrantorContactEmail>grants@example.org</GrantorContactEmail>",
        "<GrantorContactText>Program Office, 555-0100&amp;lt;br/&amp;gt;"
        "grants@example.org&amp;lt;br/&amp;gt;</GrantorContactText>",
    ]
    return f"<{tag}>" + "".join(fields) + f"</{tag}>\n"


def generate(path: Path, target_bytes: int, seed: int = 11) -> int:
    """Write a current-format extract of about `target_bytes`, streamed; returns its records."""
    rng = random.Random(seed)
    written = records = 0
    with path.open("w", encoding="utf-8") as handle:
        handle.write(f'<?xml version="1.0" encoding="UTF-8"?>\n<Grants xmlns="{NAMESPACE}">\n')
        while written < target_bytes:
            chunk = "".join(_record(rng, records + k) for k in range(100))
            handle.write(chunk)
            written += len(chunk)
            records += 100
        handle.write("</Grants>\n")
    return records


def measure(script: str, path: Path) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", script, str(path)],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
    )
    if done.returncode:
        raise SystemExit(f"benchmark child failed:\n{done.stderr[-3000:]}")
    records, seconds, rss = done.stdout.split()
    records, seconds = int(records), float(seconds)
    return {
        "records": records,
        "seconds": round(seconds, 2),
        "records_per_s": round(records / seconds),
        "peak_rss_mb": round(float(rss), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes-mb", default="300,30")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes_mb.split(",")]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in sizes:
            path = Path(tmp) / f"extract_{size}mb.xml"
            started = time.perf_counter()
            generate(path, size * 1_000_000)
            print(
                f"generated {path.name}: {path.stat().st_size / 1e6:.0f} MB "
                f"in {time.perf_counter() - started:.0f}s",
                file=sys.stderr,
            )
            baseline = measure(BASELINE, path)
            parsed = measure(PARSE, path)
            rows.append((f"{size} MB baseline iterparse", baseline, None))
            rows.append((f"{size} MB records+normalise", parsed, baseline))
            path.unlink()
        smallest = min(sizes)
        path = Path(tmp) / f"extract_{smallest}mb.xml"
        generate(path, smallest * 1_000_000)
        zipped = Path(tmp) / "GrantsDBExtract_v2.zip"
        with zipfile.ZipFile(zipped, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.write(path, "GrantsDBExtract_v2.xml")
        baseline = measure(BASELINE, path)
        rows.append((f"{smallest} MB zip open_extract", measure(PARSE, zipped), baseline))
    print(
        f"{'file':32} {'records':>9} {'seconds':>8} {'records/s':>10} {'peak RSS MB':>12} "
        f"{'vs baseline':>12}"
    )
    for name, row, base in rows:
        ratio = f"{row['seconds'] / base['seconds']:.2f}x" if base else "-"
        print(
            f"{name:32} {row['records']:>9} {row['seconds']:>8} {row['records_per_s']:>10} "
            f"{row['peak_rss_mb']:>12} {ratio:>12}"
        )
    print(json.dumps([{"name": n, **r} for n, r, _ in rows]))
    failed = [
        n
        for n, r, b in rows
        if b is not None and (r["records_per_s"] < 20_000 or r["peak_rss_mb"] >= 300)
    ]
    print("targets met" if not failed else f"targets missed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
