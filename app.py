"""Aftercare: the Chalice application. Creates the app and wires middleware and blueprints only."""

from chalice.app import Chalice

from functions.flags.handlers import blueprint as flag_handlers
from functions.flags.routes import blueprint as staff
from functions.orders.routes import blueprint as orders
from functions.outreach.handlers import blueprint as outreach_handlers
from functions.outreach.routes import blueprint as unsubscribe
from functions.platform.routes import blueprint as platform
from functions.responses.routes import blueprint as surveys
from functions.returns.handlers import blueprint as returns_handlers
from functions.returns.routes import blueprint as returns
from functions.shared import http, observability
from functions.stores.routes import blueprint as stores
from functions.webhooks.routes import blueprint as webhooks

app = Chalice(app_name="aftercare")
app.register_middleware(observability.middleware, "all")
app.register_middleware(http.middleware, "http")
app.register_blueprint(platform)
app.register_blueprint(stores)
app.register_blueprint(webhooks)
app.register_blueprint(orders)
app.register_blueprint(unsubscribe)
app.register_blueprint(surveys)
app.register_blueprint(outreach_handlers)
app.register_blueprint(staff)
app.register_blueprint(flag_handlers)
app.register_blueprint(returns)
app.register_blueprint(returns_handlers)
