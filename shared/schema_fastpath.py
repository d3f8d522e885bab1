"""A fast path for loading well-formed messages, compiled from the marshmallow schemas themselves.

marshmallow's generic machinery (error stores, getters, hooks, ``And`` validators) cost ~40 µs of the ~50 µs
a one-door message took to validate, and the dossiers service validates every message it consumes. This module
walks a schema once and builds a plain function that does the same checks for the common case: the same
fields, the same required/unknown rules, the same conversions and the *same validator objects* the schema
declares. It never produces an error of its own: on anything it is not certain of (a failed check, a field type
it does not know, a hook it cannot run) it raises :class:`Defer`, and the caller loads the message with
marshmallow, which then gives the verdict and the error message. So the schemas stay the one source of truth;
``tests/unit/test_schema_fastpath.py`` checks on random and mutated messages that whatever the fast path accepts,
marshmallow accepts with an identical result.
"""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from collections.abc import Callable
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields
from marshmallow.decorators import VALIDATES, VALIDATES_SCHEMA
from marshmallow.validate import Validator

Loader = Callable[[Any], dict[str, Any]]
_HOOKS_ALLOWED = {VALIDATES_SCHEMA}


class Defer(Exception):
    """The fast path is not sure; load the message with marshmallow instead."""


def _string(value: Any) -> str:
    if type(value) is not str:
        raise Defer
    return value


def _uuid(value: Any) -> uuid.UUID:
    if type(value) is not str:
        raise Defer
    try:
        return uuid.UUID(value)
    except ValueError:
        raise Defer from None


def _integer(value: Any) -> int:
    if type(value) is not int:  # bool is not int by type; marshmallow refuses it
        raise Defer
    return value


def _decimal(value: Any) -> decimal.Decimal:
    if type(value) not in (str, int, float):
        raise Defer
    try:
        number = decimal.Decimal(str(value))
    except decimal.InvalidOperation:
        raise Defer from None
    if not number.is_finite():
        raise Defer
    return number


def _aware_datetime(value: Any) -> dt.datetime:
    if type(value) is not str:
        raise Defer
    try:
        parsed = dt.datetime.fromisoformat(value)  # what marshmallow's "iso" format is
    except ValueError:
        raise Defer from None
    if parsed.tzinfo is None or parsed.tzinfo.utcoffset(parsed) is None:
        raise Defer
    return parsed


def _boolean(value: Any) -> bool:
    if type(value) is not bool:  # marshmallow also takes "true", 1, "yes"…: those go to it
        raise Defer
    return value


def _list_of(convert: Callable[[Any], Any]) -> Callable[[Any], list[Any]]:
    def load(value: Any) -> list[Any]:
        if type(value) is not list:  # marshmallow's List takes any non-string collection: those go to it
            raise Defer
        return [convert(item) for item in value]

    return load


def _plain_dict(value: Any) -> dict[str, Any]:
    if type(value) is not dict:
        raise Defer
    return dict(value)  # marshmallow's Dict returns a copy


def _converter(field: fields.Field) -> Callable[[Any], Any] | None:
    """The conversion for one field, or None when this module does not know the field's semantics exactly."""
    kind = type(field)
    if kind in (fields.String, fields.Email):
        return _string
    if kind is fields.UUID:
        return _uuid
    if kind is fields.Integer:
        return _integer
    if kind is fields.Boolean:
        return _boolean
    if kind is fields.List:
        inner = field.inner
        if inner.allow_none or inner.pre_load or inner.post_load:
            return None
        convert = _converter(inner)
        return None if convert is None else _list_of(_checked(convert, list(inner.validators)))
    if kind is fields.Decimal:
        if field.places is not None or field.allow_nan:
            return None
        return _decimal
    if issubclass(kind, fields.AwareDateTime) and kind._deserialize is fields.AwareDateTime._deserialize:
        if field.format not in (None, "iso", "iso8601") or field.default_timezone is not None:
            return None
        return _aware_datetime
    if kind is fields.Dict:
        if field.key_field is not None or field.value_field is not None:
            return None
        return _plain_dict
    if kind is fields.Nested:
        if field.many or field.only or field.exclude or not isinstance(field.nested, type):
            return None
        return compile_loader(field.nested())  # its loader defers on anything but a dict itself
    return None


def _checked(convert: Callable[[Any], Any], validators: list[Callable[[Any], Any]]) -> Callable[[Any], Any]:
    if not validators:
        return convert

    def run(value: Any) -> Any:
        output = convert(value)
        for validator in validators:
            try:
                result = validator(output)
            except ValidationError:
                raise Defer from None
            if result is False and not isinstance(validator, Validator):
                raise Defer
        return output

    return run


def compile_loader(schema: Schema) -> Loader | None:
    """A function equivalent to ``schema.load`` on the inputs it accepts, or None if the schema uses a feature
    this module does not reproduce (then always use marshmallow)."""
    hooks = {tag for tag, entries in schema._hooks.items() if entries}
    if hooks - _HOOKS_ALLOWED or schema._hooks.get(VALIDATES):
        return None
    if schema.unknown != RAISE or schema.many or schema.partial or schema.only or schema.exclude:
        return None
    steps: list[tuple[str, Callable[[Any], Any]]] = []
    required: set[str] = set()
    for name, field in schema.load_fields.items():
        if field.data_key not in (None, name) or field.attribute not in (None, name):
            return None
        if field.pre_load or field.post_load or field.allow_none or field.load_default is not fields.missing_:
            return None
        convert = _converter(field)
        if convert is None:
            return None
        steps.append((name, _checked(convert, list(field.validators))))
        if field.required:
            required.add(name)
    known = frozenset(name for name, _ in steps)
    schema_validators = []
    for attr_name, many, options in schema._hooks.get(VALIDATES_SCHEMA, []):
        if many or options.get("pass_original"):
            return None
        schema_validators.append(getattr(schema, attr_name))

    def load(data: Any) -> dict[str, Any]:
        if type(data) is not dict or not known.issuperset(data) or not required.issubset(data):
            raise Defer
        output = {name: convert(data[name]) for name, convert in steps if name in data}
        for validator in schema_validators:
            try:
                validator(output, partial=None, many=False, unknown=RAISE)
            except ValidationError:
                raise Defer from None
        return output

    return load
