"""Proposal validation: every error names its field, and all of them arrive together."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal as D

import pytest

from rules.equipment import (
    EquipmentClass,
    EquipmentProposal,
    FundingSource,
    ProposalInvalid,
    proposal_from_form,
    validate_form_variables,
)


def ct_proposal() -> EquipmentProposal:
    return EquipmentProposal(
        device_name="128排CT", model="", equipment_class=EquipmentClass.B, price=D("12170000"),
        monthly_volume=2399, price_per_exam=D("800"), staff_count=6, annual_cost_per_staff=D("54000"),
        annual_materials=D("1800000"), annual_maintenance=D("1600000"), annual_utilities=D("2252.88"),
        management_fee_rate_pct=D("1"), funding_source=FundingSource.OWN, economic_life_years=10,
        depreciation_years=6, room_area_m2=D("50"), room_cost_per_m2=D("5000"), room_depreciation_years=50,
    )


def ct_form() -> dict[str, object]:
    """The same proposal as a web form delivers it: strings, ints and floats mixed."""
    return {
        "device_name": "128排CT", "model": "", "equipment_class": "乙类", "price": "12,170,000",
        "monthly_volume": 2399, "price_per_exam": 800.0, "staff_count": "6", "annual_cost_per_staff": "54000",
        "annual_materials": "1800000", "annual_maintenance": 1600000, "annual_utilities": 2252.88,
        "management_fee_rate_pct": "1%", "funding_source": "自有资金", "economic_life_years": "10",
        "depreciation_years": 6, "room_area_m2": "50", "room_cost_per_m2": "¥5,000",
        "room_depreciation_years": "50",
    }


def fields_of(errors: list) -> set[str]:
    return {e.field for e in errors}


class TestTypedConstructor:
    def test_valid_proposal_builds(self) -> None:
        assert ct_proposal().discount_rate_pct == D("8")

    def test_errors_name_fields_and_come_together(self) -> None:
        with pytest.raises(ProposalInvalid) as caught:
            replace(ct_proposal(), monthly_volume=-1, economic_life_years=0, depreciation_years=0,
                    funding_source=None)
        errors = caught.value.errors
        assert fields_of(errors) == {"monthly_volume", "economic_life_years", "depreciation_years",
                                     "funding_source"}
        messages = {e.field: e.message for e in errors}
        assert "must not be negative" in messages["monthly_volume"]
        assert "不得为负数" in messages["monthly_volume"]
        assert "funding source is required" in messages["funding_source"]
        assert "monthly_volume" in str(caught.value)

    def test_price_below_materials_per_exam(self) -> None:
        # 1,800,000 / 28,788 = 62.53 of materials per exam
        with pytest.raises(ProposalInvalid) as caught:
            replace(ct_proposal(), price_per_exam=D("60"))
        [error] = caught.value.errors
        assert error.field == "price_per_exam"
        assert "62.53" in error.message

    def test_floats_are_refused_in_typed_values(self) -> None:
        with pytest.raises(ProposalInvalid) as caught:
            replace(ct_proposal(), price=12170000.0)  # type: ignore[arg-type]
        assert fields_of(caught.value.errors) == {"price"}

    def test_room_needs_depreciation_years(self) -> None:
        with pytest.raises(ProposalInvalid) as caught:
            replace(ct_proposal(), room_depreciation_years=None)
        assert fields_of(caught.value.errors) == {"room_depreciation_years"}

    def test_rates_and_capacity_ranges(self) -> None:
        with pytest.raises(ProposalInvalid) as caught:
            replace(ct_proposal(), management_fee_rate_pct=D("120"), discount_rate_pct=D("-1"),
                    designed_annual_capacity=0, price=D("0"))
        assert fields_of(caught.value.errors) == {"management_fee_rate_pct", "discount_rate_pct",
                                                  "designed_annual_capacity", "price"}


class TestFormVariables:
    def test_clean_form_gives_the_typed_proposal(self) -> None:
        assert validate_form_variables(ct_form()) == []
        assert proposal_from_form(ct_form()) == ct_proposal()

    def test_floats_become_the_decimal_that_was_typed(self) -> None:
        # Decimal(2252.88) would be 2252.8800000000001091…; str() keeps what the clerk typed.
        form = ct_form() | {"annual_utilities": 2252.88, "management_fee_rate_pct": 0.1,
                            "discount_rate_pct": 4.35}
        proposal = proposal_from_form(form)
        assert proposal.annual_utilities == D("2252.88")
        assert proposal.management_fee_rate_pct == D("0.1")
        assert proposal.discount_rate_pct == D("4.35")

    def test_every_bad_field_is_reported(self) -> None:
        form = ct_form() | {
            "price": "abc", "monthly_volume": "-5", "economic_life_years": 0, "depreciation_years": "0",
            "funding_source": "", "staff_count": "2.5", "annual_materials": "1.234",
            "equipment_class": "Z",
        }
        errors = validate_form_variables(form)
        assert fields_of(errors) == {"price", "monthly_volume", "economic_life_years", "depreciation_years",
                                     "funding_source", "staff_count", "annual_materials", "equipment_class"}
        messages = {e.field: e.message for e in errors}
        assert "is not a number" in messages["price"]
        assert "whole number" in messages["staff_count"]
        assert "more than 2 decimal places" in messages["annual_materials"]
        with pytest.raises(ProposalInvalid) as caught:
            proposal_from_form(form)
        assert len(caught.value.errors) == len(errors)

    def test_missing_required_fields(self) -> None:
        form = ct_form()
        del form["funding_source"]
        del form["device_name"]
        errors = validate_form_variables(form)
        assert fields_of(errors) == {"funding_source", "device_name"}

    def test_price_below_variable_cost_from_form(self) -> None:
        errors = validate_form_variables(ct_form() | {"price_per_exam": "50"})
        assert fields_of(errors) == {"price_per_exam"}

    def test_aliases_for_class_and_funding(self) -> None:
        proposal = proposal_from_form(ct_form() | {"equipment_class": "甲", "funding_source": "贷款",
                                                   "charge_codes": "250403001, 250403002"})
        assert proposal.equipment_class is EquipmentClass.A
        assert proposal.funding_source is FundingSource.DEBT
        assert proposal.charge_codes == ("250403001", "250403002")
