"""Semantic checks and the typed build: schema-valid documents -> Diagnostics, then frozen Config. Pure.

`semantic_diagnostics` runs on every schema-valid document (so a duplicate policy name shows up
alongside an expression error elsewhere). `build_*` run only when the whole config is clean: they
trust the schema and the compiled-expression table and never fail.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from functools import cache
from typing import Any
from urllib.parse import parse_qs, urlsplit

from engine.config.check import Compiled
from engine.config.diagnostics import Diagnostic
from engine.config.schema import (
    CONVENTIONAL_NAME,
    DEFAULT_REJECT_REASON,
    ECWID_FULFILLMENT_STATUSES,
    ECWID_PAYMENT_STATUSES,
    TIKTOK_ORDER_STATUSES,
)
from engine.config.types import (
    AnswerRule,
    AttributeMapping,
    CategoryRule,
    CertificationMap,
    ConfigChanges,
    DriftPolicy,
    EcwidConnection,
    EcwidStatusUpdate,
    EcwidToTikTokAction,
    EcwidToTikTokRule,
    Guardrails,
    ImportRule,
    Intervals,
    ListingTemplates,
    ListRule,
    ModifierKind,
    OnEcwidDelete,
    OrderRules,
    PriceModifier,
    PricePolicy,
    PriceSource,
    ProductAttributeMap,
    QuantityPolicy,
    Region,
    RelistRule,
    RequestAnswer,
    ReviseRule,
    Rounding,
    SalesAttributeMap,
    SellingPolicy,
    Settings,
    SizeChartMap,
    StopRule,
    SyncPolicy,
    SyncRules,
    TikTokConnection,
    UnknownSku,
    WebhookListen,
)
from engine.config.yamlsource import Document, Path, json_path
from engine.expr import Expression, ExpressionError, Template, deferred_template
from engine.model.listing import RuleRef

# The env-var fields of tokbridge.yaml: (section, field, default variable name).
ENV_FIELDS = (
    ("ecwid", "token_env", "ECWID_TOKEN"),
    ("ecwid", "client_secret_env", "ECWID_CLIENT_SECRET"),
    ("tiktok", "app_key_env", "TIKTOK_APP_KEY"),
    ("tiktok", "app_secret_env", "TIKTOK_APP_SECRET"),
)
DEFAULT_TITLE = "{{ product.name }}"
DEFAULT_DESCRIPTION = "{{ product.description }}"
DEFAULT_CUSTOMER_EMAIL = "{{ order.buyer_email }}"
DEFAULT_CANCEL_REASON = "seller_cancel_reason_out_of_stock"


def _at(doc: Document, path: Path, message: str, rule: str, *, key: bool = False) -> Diagnostic:
    pos = doc.pos(path)
    line, column = (pos.key_line, pos.key_column) if key else (pos.line, pos.column)
    return Diagnostic(doc.file, line, column, json_path(path), message, rule)


def shown_variable(variable: str) -> str:
    """A `*_env` value as it may be printed: the name when it looks like one, else nothing of it (a pasted secret)."""
    return variable if CONVENTIONAL_NAME.fullmatch(variable) else "the variable tokbridge.yaml names"


def unset_variable_message(variable: str, default: str) -> str:
    """Why the variable a `*_env` field names is missing, without repeating a name that may be a pasted secret."""
    if CONVENTIONAL_NAME.fullmatch(variable):
        return f"environment variable {variable} is not set (export it, or add {variable}=... to .tokbridge/secrets)"
    return (f"the environment variable named here is not set, and the name does not look like one (UPPER_CASE): "
            f"if it is the secret itself, put {default}=<it> in .tokbridge/secrets and name {default} here "
            "(what is written here is not repeated, as it may be a secret)")


def _env_diagnostics(doc: Document, env: Mapping[str, str]) -> list[Diagnostic]:
    out = []
    for section, name, default in ENV_FIELDS:
        block = doc.data.get(section) or {}
        variable = block.get(name, default)
        if variable in env:
            continue
        path: Path = (section, name) if name in block else (section,)
        out.append(_at(doc, path, unset_variable_message(variable, default), "env-unset", key=name not in block))
    return out


def _selling_diagnostics(doc: Document) -> list[Diagnostic]:
    out = []
    first: dict[str, int] = {}
    catch_all: str | None = None
    for index, policy in enumerate(doc.data["selling"]):
        name = policy["name"]
        if name in first:
            out.append(_at(doc, ("selling", index, "name"),
                           f"duplicate policy name '{name}' (first at line {first[name]})", "duplicate-name"))
        else:
            first[name] = doc.pos(("selling", index, "name")).line
        if catch_all is not None:
            out.append(_at(doc, ("selling", index), f"policy '{name}' is never used: policy '{catch_all}' above "
                                                    "has no `when` and matches every product", "unreachable"))
        elif "when" not in policy:
            catch_all = name
    return out


# Which order field holds which kind of status: `order` is the TikTok order in import rules and
# the Ecwid order in ecwid_to_tiktok rules.
_STATUS_FIELDS: Mapping[str, Mapping[str, tuple[str, tuple[str, ...]]]] = {
    "import": {"status": ("TikTok order status", TIKTOK_ORDER_STATUSES)},
    "ecwid_to_tiktok": {
        "paymentStatus": ("Ecwid paymentStatus", ECWID_PAYMENT_STATUSES),
        "fulfillmentStatus": ("Ecwid fulfillmentStatus", ECWID_FULFILLMENT_STATUSES),
    },
}


@cache
def _compared_literals(source: str) -> tuple[tuple[str, str], ...]:
    """(order field, string) for each `order.FIELD == 'X'` / `order.FIELD in ['X', ...]` in an expression."""
    from jinja2 import nodes  # only a load that checks expressions parses one (semantic_diagnostics)

    from engine.expr import parse

    try:
        ast = parse(source)  # guarded: a deep expression is reported by the compile pass, not walked here
    except ExpressionError:
        return ()  # reported by the compile pass
    found = []
    for compare in nodes.Output([ast]).find_all(nodes.Compare):  # the expression itself may be the Compare
        left = compare.expr
        if not (isinstance(left, nodes.Getattr) and isinstance(left.node, nodes.Name) and left.node.name == "order"):
            continue
        for operand in compare.ops:
            values = operand.expr.items if isinstance(operand.expr, nodes.List | nodes.Tuple) else [operand.expr]
            found += [(left.attr, v.value) for v in values if isinstance(v, nodes.Const) and isinstance(v.value, str)]
    return tuple(found)


def _status_literal_diagnostics(doc: Document, section: str, path: Path, source: Any) -> list[Diagnostic]:
    if not isinstance(source, str):
        return []
    out = []
    for field, value in _compared_literals(source):
        label, statuses = _STATUS_FIELDS[section].get(field, ("", ()))
        if statuses and value not in statuses:
            article = "an" if label.startswith("E") else "a"
            out.append(_at(doc, path, f"'{value}' is not {article} {label} (expected one of: {', '.join(statuses)})",
                           "order-status"))
    return out


IMPORT_FROM_EXAMPLE = "2026-12-01T00:00:00Z (UTC) or 2026-12-01T00:00:00-05:00 (New York in winter)"


def import_start(text: str) -> datetime | str:
    """`import.from` as an aware time, or why it is not one. A time zone is required: midnight in New York
    is 05:00 UTC, and guessing wrong would import again the evening's orders another tool imported."""
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return f"'{text}' is not a date and time; write it like {IMPORT_FROM_EXAMPLE}"
    if when.tzinfo is None:
        return f"'{text}' has no time zone; write the time and its zone, like {IMPORT_FROM_EXAMPLE}"
    return when


def _no_literal_diagnostics(doc: Document, section: str, path: Path, source: Any) -> list[Diagnostic]:
    return []  # checked before: `_status_literal_diagnostics` found nothing in these bytes with this code


def _import_from_diagnostics(doc: Document) -> list[Diagnostic]:
    text = doc.data["import"].get("from")
    start = import_start(text) if isinstance(text, str) else None
    return [_at(doc, ("import", "from"), start, "import-from")] if isinstance(start, str) else []


def _answer_rule_diagnostics(doc: Document, section: str) -> list[Diagnostic]:
    """A `reject_reason` label `reject_reasons` does not define; a `returns` rule that rejects naming none
    (TikTok's reasons for returns differ from a cancel request's, so there is no default to fall back on)."""
    rules = doc.data.get(section)
    if not isinstance(rules, list):
        return []
    reasons = doc.data.get("reject_reasons", {})
    out = []
    for index, rule in enumerate(rules):
        label = rule.get("reject_reason")
        if label is not None and label not in reasons:
            known = ", ".join(reasons) or "none defined"
            out.append(_at(doc, (section, index, "reject_reason"),
                           f"unknown reject reason '{label}' (reject_reasons has: {known})", "schema"))
        elif label is None and rule["do"] == "reject" and section == "returns":
            out.append(_at(doc, (section, index), "a returns rule that rejects needs reject_reason (a label from "
                                                  "reject_reasons)", "schema"))
    return out


def _orders_diagnostics(doc: Document, *, checked: bool) -> list[Diagnostic]:
    literals = _no_literal_diagnostics if checked else _status_literal_diagnostics
    out = literals(doc, "import", ("import", "when"), doc.data["import"].get("when"))
    out += _answer_rule_diagnostics(doc, "buyer_cancellation") + _answer_rule_diagnostics(doc, "returns")
    out += _import_from_diagnostics(doc)
    reasons = doc.data.get("cancel_reasons", {})
    for index, rule in enumerate(doc.data.get("ecwid_to_tiktok", [])):
        out += literals(doc, "ecwid_to_tiktok", ("ecwid_to_tiktok", index, "when"), rule["when"])
        if rule["do"] == "ship_package" and "shipping_provider" not in rule:
            out.append(_at(doc, ("ecwid_to_tiktok", index), "ship_package needs shipping_provider", "schema"))
        label = rule.get("cancel_reason")
        if label is not None and label not in reasons:
            known = ", ".join(reasons) or "none defined"
            out.append(_at(doc, ("ecwid_to_tiktok", index, "cancel_reason"),
                           f"unknown cancel reason '{label}' (cancel_reasons has: {known})", "schema"))
    return out


def _state_url_diagnostics(doc: Document, env: Mapping[str, str]) -> list[Diagnostic]:
    """A password written into state_url, or the variable `env:NAME` names unset (never the URL itself)."""
    url = str(doc.data.get("state_url", ""))
    if url.startswith("env:"):
        variable = url.removeprefix("env:")
        if variable in env:
            return []
        return [_at(doc, ("state_url",), f"environment variable {variable} is not set (export it, or add "
                                         f"{variable}=postgresql://... to .tokbridge/secrets)", "env-unset")]
    parts = urlsplit(url)
    if parts.password is None and "password" not in parse_qs(parts.query):
        return []
    return [_at(doc, ("state_url",), "state_url holds a password, and secrets never live in tokbridge.yaml: put the "
                                     "URL in an environment variable (or .tokbridge/secrets) and write "
                                     "`state_url: env:NAME`, or give the password by PGPASSWORD or ~/.pgpass "
                                     "(what is written here is not repeated)", "secret-in-config")]


def semantic_diagnostics(kind: str, doc: Document, *, env: Mapping[str, str],
                         checked: bool = False) -> list[Diagnostic]:
    """`checked`: these bytes passed every check with this code before (engine.config.validated), so the
    checks of what the expressions compare need not parse them again (the environment's are run anyway)."""
    if kind == "tokbridge":
        return _env_diagnostics(doc, env) + _state_url_diagnostics(doc, env)
    if kind == "selling":
        return _selling_diagnostics(doc)
    if kind == "orders":
        return _orders_diagnostics(doc, checked=checked)
    return []


def _ref(doc: Document, path: Path, name: str = "") -> RuleRef:
    return RuleRef(doc.file, doc.pos(path).line, name)


def _number_or_expr(value: Any, compiled: Compiled, path: Path) -> Decimal | Expression:
    found = compiled.get(path)
    if isinstance(found, Expression):
        return found
    return Decimal(str(value))


def _source(value: Any, compiled: Compiled, path: Path) -> PriceSource | Expression:
    found = compiled.get(path)
    return found if isinstance(found, Expression) else PriceSource(value)


def _expr(compiled: Compiled, path: Path) -> Expression:
    found = compiled[path]
    assert isinstance(found, Expression)
    return found


def _template(compiled: Compiled, path: Path) -> Template:
    found = compiled[path]
    assert isinstance(found, Template)
    return found


def _maybe_expr(compiled: Compiled, path: Path) -> Expression | None:
    return _expr(compiled, path) if path in compiled else None


def build_settings(doc: Document) -> Settings:
    data = doc.data
    ecwid, tiktok = data["ecwid"], data.get("tiktok", {})
    guard = data.get("guardrails", {})
    defaults = Guardrails()
    return Settings(
        region=Region(data["region"]),
        ecwid=EcwidConnection(**ecwid),
        tiktok=TikTokConnection(**tiktok),
        state_path=data.get("state_path", ".tokbridge/state.db"),
        state_url=data.get("state_url", ""),
        intervals=Intervals(**data.get("intervals", {})),
        webhooks=WebhookListen(**data.get("webhooks", {})),
        sync_policy=SyncPolicy(config_changes=ConfigChanges(data.get("sync_policy", {}).get("config_changes",
                                                                                           "manual"))),
        guardrails=Guardrails(
            max_stop_share=Decimal(str(guard.get("max_stop_share", defaults.max_stop_share))),
            max_price_drop_percent=Decimal(str(guard.get("max_price_drop_percent", defaults.max_price_drop_percent))),
        ),
    )


def _price(doc: Document, data: Mapping[str, Any], compiled: Compiled, path: Path) -> PricePolicy:
    modifiers = []
    for index, step in enumerate(data.get("modifiers", [])):
        ((kind, value),) = step.items()
        step_path = (*path, "modifiers", index)
        modifiers.append(PriceModifier(ModifierKind(kind), _number_or_expr(value, compiled, (*step_path, kind)),
                                       _ref(doc, step_path)))
    bounds = {b: _number_or_expr(data[b], compiled, (*path, b)) if b in data else None for b in ("min", "max")}
    return PricePolicy(
        source=_source(data.get("source", "price"), compiled, (*path, "source")),
        modifiers=tuple(modifiers),
        round=Rounding(data.get("round", "none")),
        min=bounds["min"],
        max=bounds["max"],
        list_price=_source(data["list_price"], compiled, (*path, "list_price")) if "list_price" in data else None,
    )


def _quantity(data: Mapping[str, Any], compiled: Compiled, path: Path) -> QuantityPolicy:
    source: str | int | Expression = data.get("source", "stock")
    if (*path, "source") in compiled:
        source = _expr(compiled, (*path, "source"))
    elif isinstance(source, str) and source.startswith("fixed:"):
        source = int(source.removeprefix("fixed:"))
    fields = {k: data[k] for k in ("percent", "reserve", "min_to_list", "max", "unlimited_as") if k in data}
    return QuantityPolicy(source=source, **fields)


def build_selling(doc: Document, compiled: Compiled) -> tuple[SellingPolicy, ...]:
    policies = []
    for index, data in enumerate(doc.data["selling"]):
        path: Path = ("selling", index)
        policies.append(
            SellingPolicy(
                name=data["name"],
                when=_maybe_expr(compiled, (*path, "when")),
                price=_price(doc, data.get("price", {}), compiled, (*path, "price")),
                quantity=_quantity(data.get("quantity", {}), compiled, (*path, "quantity")),
                ref=_ref(doc, path, data["name"]),
            )
        )
    return tuple(policies)


def build_sync(doc: Document, compiled: Compiled) -> SyncRules:
    data = doc.data

    def template(path: Path, default: str) -> Template:
        if path in compiled:
            return _template(compiled, path)
        return deferred_template(default)  # our own default: tests compile it with its checks

    def ref(key: str) -> RuleRef:
        return _ref(doc, (key,) if key in data else ())

    list_, relist, revise, stop = (data.get(k, {}) for k in ("list", "relist", "revise", "stop"))
    return SyncRules(
        listing=ListingTemplates(
            title=template(("listing", "title"), DEFAULT_TITLE),
            description=template(("listing", "description"), DEFAULT_DESCRIPTION),
            ref=ref("listing"),
        ),
        list=ListRule(
            when=_maybe_expr(compiled, ("list", "when")),
            **{k: list_[k] for k in ("min_quantity", "save_mode") if k in list_},
            ref=ref("list"),
        ),
        relist=RelistRule(**relist, ref=ref("relist")),
        revise=ReviseRule(**revise, ref=ref("revise")),
        stop=StopRule(
            when=_maybe_expr(compiled, ("stop", "when")),
            **{k: stop[k] for k in ("when_disabled", "when_out_of_stock") if k in stop},
            ref=ref("stop"),
        ),
        on_ecwid_delete=OnEcwidDelete(data.get("on_ecwid_delete", "delete")),
        drift=DriftPolicy(data.get("drift", "revert")),
    )


def build_categories(doc: Document, compiled: Compiled) -> tuple[CategoryRule, ...]:
    rules = []
    for index, data in enumerate(doc.data["categories"]):
        path: Path = ("categories", index)
        name = data.get("name", f"categories[{index}]")
        rules.append(CategoryRule(_expr(compiled, (*path, "when")), str(data["tiktok_category_id"]),
                                  _ref(doc, path, name)))
    return tuple(rules)


def build_attributes(doc: Document, compiled: Compiled) -> AttributeMapping:
    data = doc.data
    sales = tuple(
        SalesAttributeMap(name, spec.get("option", name), dict(spec.get("values", {})),
                          _ref(doc, ("sales_attributes", name), name))
        for name, spec in data.get("sales_attributes", {}).items()
    )
    product = {
        category: tuple(
            ProductAttributeMap(attribute, _expr(compiled, ("product_attributes", category, attribute)),
                                _ref(doc, ("product_attributes", category, attribute), attribute))
            for attribute in attributes
        )
        for category, attributes in data.get("product_attributes", {}).items()
    }
    size_charts = {
        category: SizeChartMap(str(spec.get("template_id", "")),
                               _maybe_expr(compiled, ("size_charts", category, "image")),
                               _ref(doc, ("size_charts", category), category))
        for category, spec in data.get("size_charts", {}).items()
    }
    certifications = {
        category: tuple(
            CertificationMap(cert, _expr(compiled, ("certifications", category, cert)),
                             _ref(doc, ("certifications", category, cert), cert))
            for cert in certs
        )
        for category, certs in data.get("certifications", {}).items()
    }
    return AttributeMapping(brand=_maybe_expr(compiled, ("brand",)), sales_attributes=sales,
                            product_attributes=product, size_charts=size_charts, certifications=certifications)


def _built_start(text: str | None) -> datetime | None:
    start = None if text is None else import_start(text)
    return start if isinstance(start, datetime) else None  # a bad one was reported by _import_from_diagnostics


def _answer_rules(doc: Document, compiled: Compiled, section: str, default_reason: str) -> tuple[AnswerRule, ...]:
    """`buyer_cancellation` / `returns` as rules; the plain word (`approve`, `reject`, `surface`) is one rule
    for every request."""
    data = doc.data.get(section, "surface")
    if isinstance(data, str):
        return (AnswerRule(RequestAnswer(data), _ref(doc, (section,), f"{section}: {data}"),
                           reject_reason=default_reason if data == "reject" else ""),)
    reasons = doc.data.get("reject_reasons", {})
    return tuple(
        AnswerRule(RequestAnswer(rule["do"]), _ref(doc, (section, index), rule["do"]),
                   when=_expr(compiled, (section, index, "when")) if "when" in rule else None,
                   reject_reason=reasons.get(rule["reject_reason"], "") if "reject_reason" in rule else default_reason,
                   comment=rule.get("comment", ""))
        for index, rule in enumerate(data)
    )


def build_orders(doc: Document, compiled: Compiled) -> OrderRules:
    data = doc.data
    imp = data["import"]
    customer_email = (
        _template(compiled, ("import", "customer_email"))
        if ("import", "customer_email") in compiled
        else deferred_template(DEFAULT_CUSTOMER_EMAIL)  # our own default: tests compile it with its checks
    )
    default_reject = data.get("default_reject_reason", DEFAULT_REJECT_REASON)
    return OrderRules(
        import_=ImportRule(
            when=_expr(compiled, ("import", "when")),
            payment_status=imp["ecwid"]["paymentStatus"],
            fulfillment_status=imp["ecwid"]["fulfillmentStatus"],
            customer_email=customer_email,
            ref=_ref(doc, ("import",)),
            start=_built_start(imp.get("from")),
        ),
        tiktok_to_ecwid={
            status: EcwidStatusUpdate(update.get("paymentStatus"), update.get("fulfillmentStatus"),
                                      _ref(doc, ("tiktok_to_ecwid", status), status))
            for status, update in data.get("tiktok_to_ecwid", {}).items()
        },
        ecwid_to_tiktok=tuple(
            EcwidToTikTokRule(
                when=_expr(compiled, ("ecwid_to_tiktok", index, "when")),
                do=EcwidToTikTokAction(rule["do"]),
                ref=_ref(doc, ("ecwid_to_tiktok", index), rule["do"]),
                shipping_provider=(
                    _template(compiled, ("ecwid_to_tiktok", index, "shipping_provider"))
                    if "shipping_provider" in rule
                    else None
                ),
                cancel_reason=rule.get("cancel_reason"),
            )
            for index, rule in enumerate(data.get("ecwid_to_tiktok", []))
        ),
        carriers=dict(data.get("carriers", {})),
        cancel_reasons=dict(data.get("cancel_reasons", {})),
        default_cancel_reason=data.get("default_cancel_reason", DEFAULT_CANCEL_REASON),
        unknown_sku=UnknownSku(data.get("unknown_sku", "action_required")),
        buyer_cancellation=_answer_rules(doc, compiled, "buyer_cancellation", default_reject),
        returns=_answer_rules(doc, compiled, "returns", "") if "returns" in data else (),
        restock_on_cancel=data.get("restock_on_cancel", True),
        restock_on_partial_cancel=data.get("restock_on_partial_cancel", True),
        restock_on_return=data.get("restock_on_return", False),
        carriers_ref=_ref(doc, ("carriers",), "carriers") if "carriers" in data else None,
    )


