"""The COPY text of a chunk's lines: the block fast path gives, byte for byte, the text of the
rows escaped one by one, whatever a value holds."""

import pytest

from payments.payroll_io import _copy_blocks, copy_text, row_text


def line(**values) -> tuple:
    row = {
        "batch_id": 7,
        "month": "2024-08-01",
        "kind": "regular",
        "enrolment_id": 11,
        "household_id": 12,
        "region_code": "321102001",
        "category": "dibao",
        "source_ref": "",
        "amount": "1725.00",
        "explanation_ref_id": "ab" * 32,
        "bank_name": "江苏银行",
        "bank_account_holder": "张三",
        "bank_account_number": "6222020000000000006",
        "status": "pending",
        "failure_reason": "",
    }
    row.update(values)
    return tuple(row.values())


ODD = [
    {"bank_name": "江苏银行\t镇江"},
    {"bank_account_holder": "张\n三"},
    {"bank_account_holder": "张\r三"},
    {"bank_name": "镇江\\分行"},
    {"enrolment_id": None},
    {"bank_account_holder": "None"},
    {"bank_account_holder": "\\N"},
]


@pytest.mark.parametrize("odd", ODD)
@pytest.mark.parametrize("block_rows", [1, 3, 5000])
def test_a_block_reads_as_its_rows_escaped_one_by_one(odd, block_rows):
    rows = [line(enrolment_id=n) for n in range(1, 6)] + [line(**odd)] + [line(enrolment_id=9)]

    text = "".join(_copy_blocks(rows, block_rows=block_rows))

    assert text == "".join("\t".join(map(copy_text, row)) + "\n" for row in rows)
    assert text == "".join(map(row_text, rows))
    assert text.count("\n") == len(rows)


def test_plain_rows_are_formatted_as_they_are():
    rows = [line(enrolment_id=n) for n in range(3)]

    assert "".join(_copy_blocks(rows)) == "".join("\t".join(map(str, r)) + "\n" for r in rows)
