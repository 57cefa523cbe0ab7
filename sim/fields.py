"""Documented scenario fields: what each states (a fact, a behaviour or a setting), its
default, unit and bounds. Shared by the scenario tables (:mod:`sim.scenario`) and the record's
observations (:mod:`sim.observed`), and read by ``negsim fields``."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, Field

__all__ = ["BEHAVIOUR", "FACT", "SETTING", "B", "F", "Name", "Share", "field_kind"]

Name = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=40)]
Share = Annotated[float, Field(ge=0.0, le=1.0)]


#: What a field states. A scenario states facts (actors, forces, capacities, instruments, the
#: map, dated events, mediators' leverage and reach) and run settings; the library holds
#: behaviour (how actors value, learn, adapt, defect and respond), with one set of defaults
#: calibrated on several wars. A scenario overrides a behavioural default only for a
#: documented, case-specific reason (`negsim check` lists such overrides).
FACT, BEHAVIOUR, SETTING = "fact", "behaviour", "setting"


def F(default: Any, description: str, unit: str = "", *, kind: str = FACT, **bounds: Any) -> Any:
    """A documented field: default, description, unit, kind (fact, behaviour or setting) and
    bounds (read by `negsim fields`)."""
    extra: dict[str, str] = {"kind": kind}
    if unit:
        extra["unit"] = unit
    return Field(default, description=description, json_schema_extra=extra, **bounds)


def B(default: Any, description: str, unit: str = "", **bounds: Any) -> Any:
    """A behavioural field (see `F`)."""
    return F(default, description, unit, kind=BEHAVIOUR, **bounds)


def field_kind(cls: type[BaseModel], name: str) -> str:
    """fact, behaviour or setting, as the field declares it."""
    extra = cls.model_fields[name].json_schema_extra
    return extra.get("kind", FACT) if isinstance(extra, dict) else FACT
