"""The body of the export and erase routes (imported on first use: pydantic stays off the cold start)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class CustomerRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str = Field(max_length=320, description="The customer's email address")
