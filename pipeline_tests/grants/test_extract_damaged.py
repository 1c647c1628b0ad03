"""The Grants.gov XML extract, every way a real download goes wrong: zips without their XML,
HTML error pages, damaged and truncated files, wrong namespaces and roots, empty input, and
records that cannot be read."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from pipeline.lib.grants.extract import iter_extract_records, open_extract
from pipeline.lib.grants.extract_records import normalise_extract_record
from pipeline.lib.grants.models import GRANTS_GOV_EXTRACT, GrantParseError
from pipeline.lib.http import ProviderHTTP
from pipeline_tests.fakes.http_server import Reply
from pipeline_tests.grants.test_extract import HTML_ERROR_PAGE, records_of

# --- zip archives ----------------------------------------------------------------------------


def test_zip_is_streamed_from_its_xml_member(tmp_path: Path, samples: Path):
    archive = tmp_path / "GrantsDBExtract20261201v2.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("README.txt", "not the extract")
        zf.write(samples / "grants_gov_extract.xml", "GrantsDBExtract20261201v2.xml")
    with open_extract(archive) as stream:
        assert isinstance(stream, zipfile.ZipExtFile)  # decompressed as read, not extracted
        from_zip = list(iter_extract_records(stream))
    assert from_zip == records_of(samples / "grants_gov_extract.xml")


def test_zip_without_xml_member(tmp_path: Path):
    archive = tmp_path / "extract.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("notes.txt", "nothing here")
    with pytest.raises(GrantParseError, match=r"extract.zip holds no .xml file.*notes.txt"):
        records_of(archive)


def test_html_error_page_saved_as_zip(tmp_path: Path):
    archive = tmp_path / "extract.zip"
    archive.write_bytes(HTML_ERROR_PAGE)
    with pytest.raises(
        GrantParseError,
        match=r"extract.zip is not a zip archive: it is an HTML page \('503 Service Unavailable'\)",
    ):
        records_of(archive)


def test_damaged_zip(tmp_path: Path, samples: Path):
    archive = tmp_path / "extract.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.write(samples / "grants_gov_extract.xml", "extract.xml")
    archive.write_bytes(archive.read_bytes()[:1500])
    with pytest.raises(GrantParseError, match="damaged zip archive"):
        records_of(archive)


def test_html_error_page_saved_as_xml(tmp_path: Path):
    page = tmp_path / "extract.xml"
    page.write_bytes(HTML_ERROR_PAGE)
    with pytest.raises(GrantParseError, match=r"got HTML.*'503 Service Unavailable'"):
        records_of(page)


def test_html_error_page_as_http_body(http_server, tmp_path: Path):
    """What the extract source does: download the body, then open and stream it."""
    http_server.add(
        "GET",
        "/extracts/GrantsDBExtract20261201v2.zip",
        Reply(200, HTML_ERROR_PAGE, {"Content-Type": "text/html"}),
    )
    target = tmp_path / "extract.zip"
    with ProviderHTTP(GRANTS_GOV_EXTRACT, http_server.base_url) as http:
        http.download("/extracts/GrantsDBExtract20261201v2.zip", target)
    with pytest.raises(GrantParseError, match="not a zip archive: it is an HTML page"):
        records_of(target)
    with pytest.raises(GrantParseError, match="got HTML"):
        records_of(HTML_ERROR_PAGE)


# --- ill-formed input ------------------------------------------------------------------------


def test_truncated_extract_yields_records_before_the_cut(samples: Path):
    content = (samples / "grants_gov_extract.xml").read_bytes()
    cut = content.index(b"<OpportunityID>360106</OpportunityID>") + 10
    got = []
    with pytest.raises(GrantParseError) as failure:
        for payload in iter_extract_records(io.BytesIO(content[:cut])):
            got.append(payload["OpportunityID"])
    assert got == ["360101", "360102", "360103", "360104", "360105"]
    message = str(failure.value)
    assert "truncated or ill-formed after 5 records" in message
    assert "line " in message and "column " in message


def test_truncated_legacy_extract(legacy_extract: Path):
    content = legacy_extract.read_bytes()
    cut = content.index(b"<FundingOppNumber>CA-NOI-08-0004</FundingOppNumber>")
    got = []
    with pytest.raises(GrantParseError, match="after 2 records"):
        for payload in iter_extract_records(io.BytesIO(content[:cut])):
            got.append(payload["FundingOppNumber"])
    assert got == ["USDA-RMA-RME-2008-03", "NPS-ARRAWHIS100315"]


def test_ill_formed_byte_in_the_middle(samples: Path):
    content = (samples / "grants_gov_extract.xml").read_bytes()
    content = content.replace(b"<AgencyName>Risk Management Agency</AgencyName>", b"<Agency & >")
    with pytest.raises(GrantParseError, match=r"after 6 records: not well-formed.*line \d+"):
        records_of(content)


def test_wrong_namespace_names_found_and_expected():
    content = b'<Grants xmlns="http://apply.grants.gov/system/OpportunityDetail-V2.0"></Grants>'
    with pytest.raises(GrantParseError) as failure:
        records_of(content)
    message = str(failure.value)
    assert "'http://apply.grants.gov/system/OpportunityDetail-V2.0'" in message
    assert "expected 'http://apply.grants.gov/system/OpportunityDetail-V1.0'" in message


def test_wrong_root():
    with pytest.raises(GrantParseError, match=r"root <Grants>, found <rss>"):
        records_of(b'<?xml version="1.0"?><rss version="2.0"><channel/></rss>')


@pytest.mark.parametrize("content", [b"", b"   \n\t ", b"\xef\xbb\xbf\n"])
def test_empty_input(content: bytes):
    with pytest.raises(GrantParseError, match="empty"):
        records_of(content)


def test_json_and_garbage_are_not_xml():
    with pytest.raises(GrantParseError, match="got JSON"):
        records_of(b'{"errorcode": 500}')
    with pytest.raises(GrantParseError, match=r"not well-formed XML.*line 1, column 0"):
        records_of(b"Service temporarily unavailable")


def test_leading_whitespace_and_bom_before_the_declaration(samples: Path):
    content = b"\xef\xbb\xbf\n\n" + (samples / "grants_gov_extract.xml").read_bytes()
    assert len(records_of(content)) == 13


def test_unknown_top_level_elements_are_skipped(current_fragment: bytes):
    content = current_fragment.replace(
        b"<OpportunitySynopsisDetail_1_0>", b"<Note>x</Note>\n<OpportunitySynopsisDetail_1_0>"
    )
    (payload,) = records_of(content)
    assert payload["OpportunityID"] == "131073"


# --- normalising edge cases ------------------------------------------------------------------


def test_record_without_title_raises():
    with pytest.raises(GrantParseError, match="360999 has no title"):
        normalise_extract_record(
            {"record_type": "OpportunitySynopsisDetail_1_0", "OpportunityID": "360999"}
        )
    with pytest.raises(GrantParseError, match="X-2008-1 has no title"):
        normalise_extract_record(
            {
                "record_type": "FundingOppSynopsis",
                "FundingOppNumber": "X-2008-1",
                "FundingOppTitle": " ",
            }
        )
    with pytest.raises(GrantParseError, match="has no OpportunityID"):
        normalise_extract_record(
            {"record_type": "OpportunitySynopsisDetail_1_0", "OpportunityTitle": "T"}
        )


def test_unknown_record_type_and_non_dict():
    with pytest.raises(GrantParseError, match="unknown extract record type 'Foo'"):
        normalise_extract_record({"record_type": "Foo", "OpportunityTitle": "T"})
    with pytest.raises(GrantParseError, match="must be a dict"):
        normalise_extract_record(["not", "a", "dict"])


def test_invalid_dates_are_none_never_a_crash():
    record = normalise_extract_record(
        {
            "record_type": "OpportunitySynopsisDetail_1_0",
            "OpportunityID": "1",
            "OpportunityTitle": "Dates",
            "PostDate": "13452027",
            "CloseDate": "02302027",
            "LastUpdatedDate": "soon",
            "ArchiveDate": "",
        }
    )
    assert record.posted_date is None and record.close_date is None
    assert record.source_updated_at is None
    assert "archive_date" not in record.extra
