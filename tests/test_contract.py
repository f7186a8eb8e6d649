"""The contract: every code has a group and a label, wording follows ONS style, years parse."""

import re

import pytest

from parity import contract


def test_every_ethnic_code_has_a_group_and_binary():
    assert set(contract.ETHNIC_GROUP_OF) == set(contract.ETHNIC_CATEGORIES)
    assert set(contract.ETHNIC_MINORITY_OF) == set(contract.ETHNIC_CATEGORIES)
    assert {contract.ETHNIC_MINORITY_OF[c] for c in "ABC"} == {contract.WHITE}


def test_ethnic_groups_are_the_design_s_letters():
    # design.md §3: White = A–C; Mixed = D–G; Asian = H–L; Black = M–P; Other = R, S; minority = D–S.
    letters = {
        contract.WHITE: "ABC",
        contract.MIXED: "DEFG",
        contract.ASIAN: "HJKL",
        contract.BLACK: "MNP",
        contract.OTHER_ETHNIC: "RS",
    }
    for group, codes in letters.items():
        assert sorted(c for c, g in contract.ETHNIC_GROUP_OF.items() if g == group) == list(codes), group
    minority = sorted(c for c, g in contract.ETHNIC_MINORITY_OF.items() if g == contract.ETHNIC_MINORITY)
    assert minority == list("DEFGHJKLMNPRS")
    for mapping in (contract.ETHNIC_GROUP_OF, contract.ETHNIC_MINORITY_OF):
        assert (mapping["Z"], mapping["99"]) == ("Not stated", "Not known")


def test_wording_never_uses_bame_or_bme():
    labels = [*contract.ETHNIC_CATEGORIES.values(), *contract.ETHNIC_GROUPS, contract.ETHNIC_MINORITY]
    labels += [s.label for s in contract.SPLITS.values()]
    assert not any(word in label.split() for label in labels for word in ("BAME", "BME"))
    # Also inside brackets, after a hyphen or in another case: "(BAME)", "non-BME", "Bame".
    assert not [label for label in labels if re.search(r"\bBA?ME\b", label, re.IGNORECASE)]


def test_split_phrases_keep_names_and_abbreviations():
    phrases = {key: split.phrase for key, split in contract.SPLITS.items()}
    assert phrases["ethnic_group"] == "ethnic group"
    assert phrases["ethnic_minority"] == "ethnic minority vs White"
    assert phrases["uk_graduate"] == "UK vs non-UK graduate"


def test_references_are_known_groups_and_never_unknown():
    for split in contract.SPLITS.values():
        assert split.default_reference in split.groups
        assert not contract.is_unknown_group(split.default_reference)


def test_reference_groups_are_the_design_s():
    references = {key: split.default_reference for key, split in contract.SPLITS.items()}
    assert references == {
        "ethnic_group": "White",
        "ethnic_category": "White British",
        "ethnic_minority": "White",
        "pmq_region": "UK graduate",
        "uk_graduate": "UK graduate",
        "ethnicity_pmq": "White · UK graduate",
        "gender": "Male",
        "age_band": "35 to 44",
    }


@pytest.mark.parametrize(("text", "year"), [("2023/24", 2023), ("1999/00", 1999)])
def test_financial_years(text, year):
    assert contract.parse_financial_year(text) == year
    assert contract.financial_year_label(year) == text


@pytest.mark.parametrize("text", ["2023-24", "2023/25", "23/24", "", "2023/2024"])
def test_bad_financial_years(text):
    with pytest.raises(ValueError, match="financial year"):
        contract.parse_financial_year(text)


def test_stage_bits_are_distinct_powers_of_two():
    bits = list(contract.STAGE_BITS.values())
    assert len(set(bits)) == len(contract.STAGES) and all(b > 0 and b & (b - 1) == 0 for b in bits)
    # The bits are stored in every loaded database: moving a stage would misread them.
    assert contract.STAGE_BITS["informal_resolution"] == 1 and contract.STAGE_BITS["exclusion"] == 4
    assert contract.STAGE_BITS["suspension"] == 8 and contract.STAGE_BITS["disciplinary_hearing"] == 256
