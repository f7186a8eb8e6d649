from parity.filters import FILTER_PARAMS, Filters


def test_empty_choices_are_null():
    params = Filters().params()
    assert set(params) == set(FILTER_PARAMS)
    assert all(v is None for v in params.values())


def test_params_restricted_to_declared():
    f = Filters(fy_from=2020, professions=("doctor",), grades=("consultant",))
    assert f.params(frozenset({"fy_from", "professions"})) == {"fy_from": 2020, "professions": ["doctor"]}
    assert f.unapplied(frozenset({"fy_from", "professions"})) == ["grades"]


def test_national_means_no_geography():
    assert Filters(professions=("doctor",)).is_national
    assert not Filters(regions=("London",)).is_national
    assert not Filters(orgs=("R1A",)).is_national
    assert not Filters(org_types=("acute_trust",)).is_national
    # Years, professions, grades and concerns narrow the cases, not the geography.
    assert Filters(2020, 2024, ("doctor",), ("consultant",), concerns=("clinical",)).is_national


def test_describe_in_words():
    text = Filters(2020, 2024, ("doctor", "dentist")).describe()
    assert text == "Doctors and dentists, 2020/21 to 2024/25, all regions"
    one_year = Filters(2023, 2023, regions=("London",), concerns=("clinical",)).describe()
    assert one_year == "All professions, 2023/24, London, clinical concerns"
    assert Filters().describe() == "All professions, all years, all regions"
    assert Filters(fy_from=2020).describe() == "All professions, 2020/21 to latest year, all regions"
    three = Filters(professions=("doctor", "dentist", "pharmacist"), regions=("London", "Wales")).describe()
    assert three == "Doctors, dentists and pharmacists, all years, London and Wales"
