"""Bank files at rest: only the app's user may read them (0600 in 0700 folders), whatever the
umask, and the download says and checks the SHA-256 recorded at export."""

import datetime
import hashlib
import os
import stat

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from payments.approval import approve_batch
from payments.bankfiles import export_batch
from payments.models import BankFile

SEP = datetime.date(2024, 9, 1)


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def open_umask():
    """The most permissive umask: whatever is private is so because the code made it so."""
    old = os.umask(0)
    yield
    os.umask(old)


@pytest.fixture
def approved_batch(make_batch, add_line, household, approver):
    batch = make_batch(SEP)
    add_line(batch, household, "1725")
    return approve_batch(batch=batch, by=approver)


def test_exported_files_are_0600_in_0700_folders_from_the_root_down(
    approved_batch, approver, bank_file_root, open_umask
):
    bank_file_root.mkdir(mode=0o755)  # a root made by someone else, too open
    files = export_batch(batch=approved_batch, by=approver)

    for bank_file in files:
        path = bank_file_root / bank_file.path
        assert mode(path) == 0o600, path
        assert mode(path.parent) == 0o700
    assert mode(bank_file_root) == 0o700
    assert {p.name for p in (bank_file_root / "321100000000").iterdir()} == {
        f.path.rsplit("/", 1)[-1] for f in files
    }  # no partial file left behind


def test_a_kept_return_file_is_0600_too(
    approved_batch, approver, return_file, bank_file_root, open_umask
):
    export_batch(batch=approved_batch, by=approver)
    client = APIClient()
    client.force_authenticate(approver)
    csv_file = approved_batch.bank_files.get(format=BankFile.Format.CSV)
    response = client.post(
        f"/api/batches/{approved_batch.pk}/return-file/",
        {"file": SimpleUploadedFile("r.csv", return_file(csv_file))},
    )
    assert response.status_code == 201
    kept = bank_file_root / approved_batch.bank_return.path
    assert mode(kept) == 0o600
    assert mode(kept.parent) == 0o700


def test_the_download_shows_the_recorded_sha256_and_refuses_a_changed_file(
    approved_batch, approver, bank_file_root
):
    client = APIClient()
    client.force_authenticate(approver)
    listed = client.post(f"/api/batches/{approved_batch.pk}/bank-file/").json()
    xlsx = approved_batch.bank_files.get(format=BankFile.Format.XLSX)
    download = client.get(f"/api/batches/{approved_batch.pk}/bank-file/?file_format=xlsx")
    content = b"".join(download.streaming_content)

    assert {f["format"]: f["sha256"] for f in listed}["xlsx"] == xlsx.sha256
    assert download["X-Checksum-SHA256"] == xlsx.sha256 == hashlib.sha256(content).hexdigest()
    (bank_file_root / xlsx.path).write_bytes(content + b"\0")
    changed = client.get(f"/api/batches/{approved_batch.pk}/bank-file/?file_format=xlsx")
    assert changed.status_code == 409
    assert "校验和" in changed.json()["detail"]
