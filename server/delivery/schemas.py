import marshmallow as ma
from marshmallow import fields, validate

from ..i18n import render

Int = fields.Integer
HHMM = validate.Regexp(r"^([01]\d|2[0-3]):[0-5]\d$", error="must be a time HH:MM")


class VehicleArgs(ma.Schema):
    name = fields.String(required=True, validate=validate.Length(1, 64))
    plate = fields.String(load_default="", validate=validate.Length(0, 16))
    capacity_volume_l = Int(required=True, strict=True, validate=validate.Range(1, 100_000),
                            metadata={"description": "litres of load space"})
    capacity_weight_kg = Int(required=True, strict=True, validate=validate.Range(1, 50_000),
                             metadata={"description": "payload in kg"})
    crew = Int(load_default=1, strict=True, validate=validate.OneOf((1, 2)),
               metadata={"description": "1 or 2: large items need a crew of two"})
    shift_start = fields.String(load_default="08:00", validate=HHMM,
                                metadata={"description": "HH:MM, warehouse local time"})
    shift_end = fields.String(load_default="18:00", validate=HHMM)
    active = fields.Boolean(load_default=True)


class VehiclePatchArgs(ma.Schema):
    name = fields.String(validate=validate.Length(1, 64))
    plate = fields.String(validate=validate.Length(0, 16))
    capacity_volume_l = Int(strict=True, validate=validate.Range(1, 100_000))
    capacity_weight_kg = Int(strict=True, validate=validate.Range(1, 50_000))
    crew = Int(strict=True, validate=validate.OneOf((1, 2)))
    shift_start = fields.String(validate=HHMM)
    shift_end = fields.String(validate=HHMM)
    active = fields.Boolean()


class VehicleSchema(ma.Schema):
    id = Int()
    warehouse_id = Int()
    name = fields.String()
    plate = fields.String()
    capacity_volume_l = Int()
    capacity_weight_kg = Int()
    crew = Int()
    shift_start = fields.String()
    shift_end = fields.String()
    active = fields.Boolean()


class RoutePlanArgs(ma.Schema):
    date = fields.Date(required=True, metadata={"description": "the delivery day (local)"})
    time_limit_s = fields.Float(load_default=None, validate=validate.Range(0.1, 60), metadata={
        "description": "the solver's time limit; default 0.025 s per stop, 1 to 30 s"})


class RouteDayArgs(ma.Schema):
    warehouse_id = Int(required=True, validate=validate.Range(min=1))
    date = fields.Date(required=True)


class StopItemSchema(ma.Schema):
    class Meta:
        unknown = ma.INCLUDE

    sku = fields.String()
    name = fields.String()
    quantity = Int()
    parcel = Int()
    weight_g = Int()


class StopSchema(ma.Schema):
    id = Int()
    route_id = Int(allow_none=True)
    sequence = Int(metadata={"description": "1.. on its route; 0 when unassigned"})
    status = fields.String(metadata={"description": "unassigned, planned, delivered, failed, "
                                     "skipped"})
    shipment_id = Int(allow_none=True)
    order_id = Int(allow_none=True)
    reference = fields.String(metadata={"description": "what the manifest's barcode holds"})
    address = fields.Dict()
    latitude = fields.Float()
    longitude = fields.Float()
    window_start = fields.AwareDateTime(allow_none=True)
    window_end = fields.AwareDateTime(allow_none=True)
    planned_arrival = fields.AwareDateTime(allow_none=True,
                                           metadata={"description": "start of service"})
    service_minutes = Int()
    volume_l = fields.Float()
    weight_g = Int()
    needs_two = fields.Boolean(metadata={"description": "needs a crew of two"})
    items = fields.List(fields.Nested(StopItemSchema))
    notes = fields.String()
    drop_reason = fields.Method("_drop_reason", allow_none=True, metadata={
        "description": "why the planner left it unassigned, in the reader's language"})

    def _drop_reason(self, stop):
        return render(stop.drop_reason) if stop.drop_reason else None


class RouteSchema(ma.Schema):
    id = Int()
    warehouse_id = Int()
    date = fields.Date()
    status = fields.String(metadata={"description": "draft, planned, dispatched, done"})
    vehicle = fields.Nested(VehicleSchema)
    driver_id = Int(allow_none=True)
    planned_start = fields.AwareDateTime(allow_none=True)
    planned_end = fields.AwareDateTime(allow_none=True)
    planned_distance_m = Int()
    planned_duration_s = Int()
    load_weight_g = fields.Method("_weight")
    load_volume_l = fields.Method("_volume")
    two_person_stops = fields.Method("_two")
    solver_stats = fields.Dict()
    stops = fields.List(fields.Nested(StopSchema))

    def _weight(self, route):
        return sum(s.weight_g for s in route.stops)

    def _volume(self, route):
        return round(sum(s.volume_l for s in route.stops), 3)

    def _two(self, route):
        return sum(1 for s in route.stops if s.needs_two)


class RouteDaySchema(ma.Schema):
    warehouse_id = Int()
    date = fields.Date()
    routes = fields.List(fields.Nested(RouteSchema))
    unassigned = fields.List(fields.Nested(StopSchema), metadata={
        "description": "stops no route carries, each with drop_reason"})


class StopMoveArgs(ma.Schema):
    to_route_id = Int(load_default=None, strict=True, validate=validate.Range(min=1), metadata={
        "description": "the route to put it on; default its own (to change its position)"})
    position = Int(load_default=None, strict=True, validate=validate.Range(1, 10_000),
                   metadata={"description": "1-based place on that route; default last"})


class RouteWarningSchema(ma.Schema):
    route_id = Int()
    stop_id = Int(allow_none=True)
    kind = fields.String(metadata={"description": "late, crew, volume, weight or shift"})
    message = fields.Method("_message")

    def _message(self, warning):
        return render(warning["message"])


class MoveResultSchema(ma.Schema):
    routes = fields.List(fields.Nested(RouteSchema))
    warnings = fields.List(fields.Nested(RouteWarningSchema), metadata={
        "description": "what the changed routes now break (the move is kept)"})


class RoutePatchArgs(ma.Schema):
    status = fields.String(validate=validate.OneOf(("draft", "planned", "dispatched", "done")))
    driver_id = Int(allow_none=True, strict=True, validate=validate.Range(min=1))
