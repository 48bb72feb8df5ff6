"""Aftercare: the Chalice application and every entry point, nothing else.

Each Lambda function is declared here, on the app, so its packaged handler is ``app.<name>``: Lambda
imports this module, which attaches the middleware (correlation ids, logs, metrics) to every one. The
functions themselves live in their capability's ``handlers`` module.
"""

from typing import Any

from chalice.app import Chalice, CloudWatchEvent, Rate

from functions.digest import handlers as digests
from functions.digest.routes import blueprint as digest_unsubscribe
from functions.flags import handlers as flagging
from functions.flags.routes import blueprint as staff
from functions.insights import handlers as counting
from functions.insights.routes import blueprint as insights
from functions.orders.routes import blueprint as orders
from functions.outreach import handlers as sending
from functions.outreach.routes import blueprint as unsubscribe
from functions.platform.routes import blueprint as platform
from functions.privacy.routes import blueprint as privacy
from functions.responses.routes import blueprint as surveys
from functions.returns import handlers as workflow
from functions.returns.routes import blueprint as returns
from functions.shared import http, observability
from functions.stores.routes import blueprint as stores
from functions.webhooks.routes import blueprint as webhooks
from functions.workspace.customers import blueprint as customer_data
from functions.workspace.requests import blueprint as request_history
from functions.workspace.routes import blueprint as workspace

app = Chalice(app_name="aftercare")
app.register_middleware(observability.middleware, "all")
app.register_middleware(http.middleware, "http")
app.register_blueprint(platform)
app.register_blueprint(stores)
app.register_blueprint(webhooks)
app.register_blueprint(orders)
app.register_blueprint(unsubscribe)
app.register_blueprint(surveys)
app.register_blueprint(staff)
app.register_blueprint(returns)
app.register_blueprint(request_history)
app.register_blueprint(workspace)
app.register_blueprint(insights)
app.register_blueprint(digest_unsubscribe)
app.register_blueprint(privacy)
app.register_blueprint(customer_data)


@app.schedule(
    Rate(5, unit=Rate.MINUTES), name="sweep", description="Hand each shard of the due index to a sweep worker"
)
def sweep(event: CloudWatchEvent) -> dict[str, Any]:
    return sending.sweep(event)


@app.lambda_function(name="sweep_worker")
def sweep_worker(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return sending.sweep_worker(event, context)


@app.lambda_function(name="ses_events")
def ses_events(event: dict[str, Any], context: Any) -> dict[str, int]:
    return sending.ses_events(event, context)


@app.lambda_function(name="flag_responses")
def flag_responses(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return flagging.flag_responses(event, context)


@app.lambda_function(name="count_insights")
def count_insights(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return counting.count_insights(event, context)


@app.schedule(Rate(15, unit=Rate.MINUTES), name="escalate", description="Escalate flags past their SLA")
def escalate(event: CloudWatchEvent) -> dict[str, int]:
    return flagging.escalate(event)


@app.lambda_function(name="returns_step")
def returns_step(event: dict[str, Any], context: Any) -> Any:
    return workflow.returns_step(event, context)


@app.lambda_function(name="returns_refund")
def returns_refund(event: dict[str, Any], context: Any) -> Any:
    return workflow.returns_refund(event, context)


@app.schedule(
    Rate(15, unit=Rate.MINUTES),
    name="returns_deadlines",
    description="Time out return approvals and parcels past their deadline",
)
def returns_deadlines(event: CloudWatchEvent) -> dict[str, int]:
    return workflow.returns_deadlines(event)


@app.schedule(
    Rate(1, unit=Rate.HOURS),
    name="digest",
    description="Email each store's owners the weekly digest (Monday 09:00 in the store's timezone)",
)
def digest(event: CloudWatchEvent) -> dict[str, int]:
    return digests.digest(event)
