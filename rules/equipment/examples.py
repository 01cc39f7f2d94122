"""The public worked example of an equipment justification (设备购置论证): a 128-slice CT.

Published figures: price ¥12,170,000 depreciated over 6 years, 10-year economic life, a 50 m² room at
¥5,000/m², 2,399 exams a month at ¥800. A correct implementation reproduces its cash operating cost
(¥3,847,952.88) and net cash inflow (¥19,182,447.12 a year); tests, the procurement process tests and the
demo all start from this one definition.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from rules.equipment.proposal import EquipmentClass, EquipmentProposal, FundingSource

CT_CHARGE_CODE = "250403001"


def ct_scanner_proposal(**changes: object) -> EquipmentProposal:
    """The CT example as a proposal; keyword arguments replace fields for variants."""
    proposal = EquipmentProposal(
        device_name="128排CT", model="", equipment_class=EquipmentClass.B, price=Decimal("12170000"),
        monthly_volume=2399, price_per_exam=Decimal("800"), staff_count=6, annual_cost_per_staff=Decimal("54000"),
        annual_materials=Decimal("1800000"), annual_maintenance=Decimal("1600000"),
        annual_utilities=Decimal("2252.88"), management_fee_rate_pct=Decimal("1"), funding_source=FundingSource.OWN,
        economic_life_years=10, depreciation_years=6, room_area_m2=Decimal("50"), room_cost_per_m2=Decimal("5000"),
        room_depreciation_years=50, charge_codes=(CT_CHARGE_CODE,),
    )
    return replace(proposal, **changes) if changes else proposal
