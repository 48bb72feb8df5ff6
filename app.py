"""Aftercare: the Chalice application. Creates the app and wires middleware and blueprints only."""

from chalice.app import Chalice

from functions.platform.routes import blueprint as platform
from functions.shared import http, observability
from functions.stores.routes import blueprint as stores

app = Chalice(app_name="aftercare")
app.register_middleware(observability.middleware, "all")
app.register_middleware(http.middleware, "http")
app.register_blueprint(platform)
app.register_blueprint(stores)
