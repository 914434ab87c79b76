"""The smallest observable handler: one decorator, one block, one log line."""

import asyncio

from lambda_observe import annotate, capture, get_logger, subsegment, traced

log = get_logger(__name__)


@capture
def price(amount: float) -> float:
    return round(amount * 1.2, 2)


async def fetch(name: str) -> str:
    async with subsegment(f"fetch {name}"):
        await asyncio.sleep(0.01)
        return name


@traced(service="hello")
def handler(event, context):
    with subsegment("validate", kind="demo"):
        total = price(10.0)
    annotate("customer_tier", "gold")

    async def both():
        return await asyncio.gather(fetch("stock"), fetch("pricing"))

    with subsegment("gather"):
        asyncio.run(both())
    log.info("order priced", extra={"total": total})
    return {"statusCode": 200, "body": str(total)}
