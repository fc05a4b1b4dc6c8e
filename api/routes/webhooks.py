"""/v1/webhooks (admins): subscriptions and the delivery log (mapper.runs.webhooks)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field

from api.deps import Admin, StateDep
from mapper.runs import webhooks as hooks

router = APIRouter(prefix="/v1", tags=["webhooks"])


class NewWebhook(BaseModel):
    url: str = Field(examples=["https://hooks.example/aims"])
    events: list[str] = Field(examples=[["finding.opened", "gate.denied"]])
    secret: str | None = Field(default=None, description="HMAC secret; generated when absent.")


class WebhookModel(BaseModel):
    id: str
    url: str
    events: list[str]

    model_config = {"json_schema_extra": {"examples": [{
        "id": "wh-1a2b3c4d", "url": "https://hooks.example/aims",
        "events": ["finding.opened", "gate.denied"]}]}}


class CreatedWebhook(WebhookModel):
    secret: str

    model_config = {"json_schema_extra": {"examples": [{
        "id": "wh-1a2b3c4d", "url": "https://hooks.example/aims",
        "events": ["finding.opened"], "secret": "3f9c0e..."}]}}


class AttemptModel(BaseModel):
    attempt: int
    at: float
    status_code: int | None
    error: str | None
    ms: float


class DeliveryModel(BaseModel):
    id: str
    subscription: str
    url: str | None
    event: str
    status: str
    attempts: list[AttemptModel]
    next_at: float | None

    model_config = {"json_schema_extra": {"examples": [{
        "id": "d-1", "subscription": "wh-1a2b3c4d", "url": "https://hooks.example/aims",
        "event": "gate.denied", "status": "delivered",
        "attempts": [{"attempt": 1, "at": 1782800000.0, "status_code": 200, "error": None,
                      "ms": 12.5}], "next_at": None}]}}


@router.get("/webhooks", response_model=list[WebhookModel], summary="Webhook subscriptions",
            description="Every subscription: its receiver URL and the events it gets.")
def list_webhooks(state: StateDep, _: Admin) -> list[dict[str, Any]]:
    return hooks.subscriptions(hooks.default_db(state.settings.store))


@router.post("/webhooks", response_model=CreatedWebhook, status_code=201,
             summary="Subscribe a receiver",
             description="Events: finding.opened, finding.closed, gate.denied, "
             "attestation.due. The secret is returned once.")
def add_webhook(body: NewWebhook, state: StateDep, _: Admin) -> dict[str, Any]:
    events = hooks.parse_events(",".join(body.events))
    return hooks.add(hooks.default_db(state.settings.store), body.url, events, body.secret)


@router.delete("/webhooks/{webhook_id}", status_code=204, summary="Remove a subscription",
               description="Stop sending events to this receiver; its delivery log stays.",
               responses={404: {"description": "No such webhook."}})
def remove_webhook(webhook_id: Annotated[str, Path(examples=["wh-1a2b3c4d"])],
                   state: StateDep, _: Admin) -> None:
    hooks.remove(hooks.default_db(state.settings.store), webhook_id)


@router.get("/webhooks/deliveries", response_model=list[DeliveryModel],
            summary="The delivery log", description="Every delivery with each attempt's "
            "status code or error.")
def list_deliveries(state: StateDep, _: Admin) -> list[dict[str, Any]]:
    return hooks.deliveries(hooks.default_db(state.settings.store))
