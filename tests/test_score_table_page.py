"""The score table check page (issue 18, point 12): upload a published
review's table, see which rows do not add up and which are impossible, or
download the same as CSV. Nothing is stored.

The rows are the RQS row tests/test_cli.py checks against `manage.py score`
(15 of 36 points), reported right, wrong and with an impossible answer."""

from __future__ import annotations

import csv
import io
from typing import Any

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from assessments.models import AuditEvent, Study
from tests.factories import UserFactory, load_instrument
from tests.test_cli import RQS_HEADER

ANSWERS = "1,1,0,0,3,1,0,1,2,1,0,2,2,0,0,1"
IMPOSSIBLE = ANSWERS.replace("1,1,0,0,3", "1,1,0,0,0", 1)  # item 5 cannot be 0
TABLE = (
    f"{RQS_HEADER},reported_total\n"
    f"Smith 2020,{ANSWERS},15\nJones 2021,{ANSWERS},17\nLee 2022,{IMPOSSIBLE},12\n"
)
URL = "/instruments/rqs-1.0/audit/"


@pytest.fixture
def client(db: None) -> Client:
    load_instrument("rqs-1.0")
    client = Client()
    client.force_login(UserFactory(username="anyone"))
    return client


def _post(client: Client, data: bytes, name: str = "t.csv", **extra: Any) -> Any:
    upload = SimpleUploadedFile(name, data)
    return client.post(URL, {"file": upload, "output": "page", **extra})


def test_the_page_lists_what_does_not_add_up(client: Client) -> None:
    before = (Study.objects.count(), AuditEvent.objects.count())
    response = _post(client, TABLE.encode())
    assert response.status_code == 200
    page = response.content.decode()
    assert "1 of 3 rows mis-scored; 1 impossible under the instrument" in page
    assert "row Jones 2021: reported 17, computed 15" in page
    assert "row Lee 2022, item 5" in page
    assert "Adds up" in page and "Mis-scored" in page and "Impossible" in page
    assert (Study.objects.count(), AuditEvent.objects.count()) == before


def test_the_same_audit_downloads_as_csv(client: Client) -> None:
    response = _post(client, TABLE.encode(), output="csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [(r["id"], r["status"], r["difference"]) for r in rows] == [
        ("Smith 2020", "adds up", "0"),
        ("Jones 2021", "mis-scored", "-2"),
        ("Lee 2022", "impossible", ""),
    ]
    assert "item 5" in rows[2]["problems"]


def test_an_xlsx_table_gives_the_same_audit(client: Client) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    for line in TABLE.splitlines():
        sheet.append(
            [int(c) if c.lstrip("-").isdigit() else c for c in line.split(",")]
        )
    data = io.BytesIO()
    book.save(data)
    response = _post(client, data.getvalue(), name="table.xlsx")
    assert response.status_code == 200
    assert "1 of 3 rows mis-scored" in response.content.decode()


def test_an_unreadable_table_is_named_and_refused(client: Client) -> None:
    response = _post(client, b"id,1,2\nA,1,1\n")
    assert response.status_code == 400
    assert "Missing column(s): 3" in response.content.decode()
    response = _post(client, b"\xff\xfe not text")
    assert response.status_code == 400
    assert "not UTF-8 text" in response.content.decode()


def test_the_instrument_page_links_to_it(client: Client) -> None:
    page = client.get("/instruments/rqs-1.0/").content.decode()
    assert f'href="{URL}"' in page
    assert client.get(URL).status_code == 200
    assert client.get("/instruments/no-such-1.0/audit/").status_code == 404
