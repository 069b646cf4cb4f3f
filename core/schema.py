"""The OpenAPI schema says what every response can be.

* :class:`AutoSchema` — a read-only choice field of a model field that may be blank lists ``""``
  among its values (DRF drops ``allow_blank`` from read-only fields, so ``care_level: ""`` was
  outside its enum).
* :func:`document_errors` — every operation documents the error bodies it can answer with: 400
  (field → messages, or ``detail`` and ``code``), 401 and 403 (``detail``), 404 (``detail``) and,
  for writes, 409 (the reason: ``detail`` and ``code``). A 400 body an operation documents itself
  (the import's row-by-row report) becomes one of it or the field messages (a file refused
  whole answers with those).
* :class:`TokenScheme`, :class:`BasicScheme` — API tokens and HTTP basic auth
  (``core.authentication``) appear among the security schemes: ``Authorization: Token doudi_…``.
"""

from django.core.exceptions import FieldDoesNotExist
from drf_spectacular import authentication, openapi
from drf_spectacular.contrib.knox_auth_token import KnoxTokenScheme
from rest_framework import serializers


class TokenScheme(KnoxTokenScheme):
    target_class = "core.authentication.TokenAuthentication"
    name = "tokenAuth"


class BasicScheme(authentication.BasicScheme):
    target_class = "core.authentication.BasicAuthentication"


ERROR_DETAIL = {
    "type": "object",
    "properties": {
        "detail": {"type": "string", "description": "说明 (message fit to show)"},
        "code": {"type": "string"},
    },
    "required": ["detail"],
}
# A field message list per field; a rule of the domain that names no field gives detail and code.
FIELD_ERRORS = {
    "type": "object",
    "properties": {"detail": {"type": "string"}, "code": {"type": "string"}},
    "additionalProperties": {
        "description": "字段 → 错误消息 (field → messages; nested for lists of objects)"
    },
}
ERRORS = {
    "400": ("FieldErrors", "输入有误：各字段的错误消息 (bad input: messages per field)"),
    "401": ("ErrorDetail", "未登录 (not authenticated)"),
    "403": ("ErrorDetail", "无权执行 (the role may not do this)"),
    "404": ("ErrorDetail", "不存在或不在管辖范围内 (not found, or outside the region)"),
    "409": ("FieldErrors", "当前状态不允许 (not allowed from the current state): the reason"),
}
WRITES = {"post", "put", "patch", "delete"}


class AutoSchema(openapi.AutoSchema):
    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        if (
            isinstance(field, serializers.ChoiceField)
            and field.read_only
            and not field.allow_blank
            and _model_field_blank(field)
        ):
            field.allow_blank = True
        return super()._map_serializer_field(field, direction, bypass_extensions)


def _model_field_blank(field) -> bool:
    model = getattr(getattr(field.parent, "Meta", None), "model", None)
    if model is None or not field.source or "." in field.source:
        return False
    try:
        return model._meta.get_field(field.source).blank
    except FieldDoesNotExist:  # a method or a property
        return False


def document_errors(result, generator, request, public):
    """Postprocessing hook: the error responses of every operation."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas["ErrorDetail"] = ERROR_DETAIL
    schemas["FieldErrors"] = FIELD_ERRORS
    for path in result.get("paths", {}).values():
        for method, operation in path.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            for status, (component, description) in ERRORS.items():
                if status == "409" and method not in WRITES:
                    continue
                ref = {"$ref": f"#/components/schemas/{component}"}
                own = operation["responses"].get(status, {}).get("content", {})
                for media in own.values():
                    if media.get("schema") and media["schema"] != ref:
                        media["schema"] = {"anyOf": [media["schema"], ref]}
                operation["responses"].setdefault(
                    status,
                    {
                        "description": description,
                        "content": {"application/json": {"schema": ref}},
                    },
                )
    return result
