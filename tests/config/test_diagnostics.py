"""Each kind of mistake, planted in a copy of the starter, gives exact FILE:LINE:COL and message."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.config import ConfigError, Diagnostic, OutputFormat, load, render
from engine.config.yamlsource import YamlProblem, parse

from .helpers import ENV, plant

# (file, old text, new text, every diagnostic the loader must print, in order)
CASES = {
    "yaml syntax": (
        "rules/sync.yaml",
        "  min_quantity: 1\n  save_mode",
        "  min_quantity: [1\n  save_mode",
        ["rules/sync.yaml:13:12: error: YAML syntax error: did not find expected ',' or ']'"],
    ),
    "unknown key": (
        "rules/selling.yaml",
        "    when: \"'Clearance'",
        "    whn: \"'Clearance'",
        ["rules/selling.yaml:9:5: error: selling[0].whn: unknown key 'whn'; did you mean 'when'?"],
    ),
    "unknown key, nothing close": (
        "tokbridge.yaml",
        "state_path:",
        "colour: red\nstate_path:",
        [
            "tokbridge.yaml:19:1: error: colour: unknown key 'colour' (expected one of: version, region, ecwid, "
            "tiktok, state_path, state_url, intervals, webhooks, sync_policy, guardrails)"
        ],
    ),
    "wrong type": (
        "tokbridge.yaml",
        "store_id: 1003",
        "store_id: abc",
        ["tokbridge.yaml:9:13: error: ecwid.store_id: expected integer, got string"],
    ),
    "wrong type, unquoted number": (
        "rules/selling.yaml",
        'round: ".99"',
        "round: .99",
        [
            "rules/selling.yaml:14:14: error: selling[0].price.round: expected string, got number "
            "(put the value in quotes)"
        ],
    ),
    "missing key": (
        "rules/orders.yaml",
        "    do: cancel\n",
        "",
        ["rules/orders.yaml:26:5: error: ecwid_to_tiktok[1]: missing required key 'do'"],
    ),
    "wrong enum": (
        "rules/sync.yaml",
        "on_ecwid_delete: delete ",
        "on_ecwid_delete: remove ",
        ["rules/sync.yaml:33:18: error: on_ecwid_delete: 'remove' is not one of: delete, deactivate"],
    ),
    "expression syntax error": (
        "rules/selling.yaml",
        "min: \"variant.cost_price * 1.2 if",
        "min: \"variant.cost_price * (1.2 if",
        [
            "rules/selling.yaml:15:12: error: selling[0].price.min: syntax error: unexpected end of template, "
            "expected ')'."
        ],
    ),
    "expression syntax error on a later line of a block scalar": (
        "rules/sync.yaml",
        '  when: "product.enabled and product.images"   # list enabled products that have a picture',
        "  when: |\n    product.enabled\n    and product.images |",
        ["rules/sync.yaml:13:5: error: list.when: syntax error: unexpected end of template, expected 'name'."],
    ),
    "unknown name in an expression": (
        "mappings/categories.yaml",
        "    when: \"'T-Shirts' in product.categories\"",
        "    when: \"'T-Shirts' in order.categories\"",
        ["mappings/categories.yaml:8:11: error: categories[0].when: unknown name 'order' (names here: product)"],
    ),
    "unknown name in a template": (
        "rules/orders.yaml",
        'customer_email: "{{ order.buyer_email }}"',
        'customer_email: "{{ product.email }}"',
        ["rules/orders.yaml:10:19: error: import.customer_email: unknown name 'product' (names here: order)"],
    ),
    "duplicate policy name": (
        "rules/selling.yaml",
        "  - name: default",
        "  - name: clearance",
        [
            "rules/selling.yaml:20:11: error: selling[1].name: duplicate policy name 'clearance' (first at line 8)",
        ],
    ),
    "tiktok order status as a key": (
        "rules/orders.yaml",
        "  IN_TRANSIT: {",
        "  SHIPPED: {",
        [
            "rules/orders.yaml:17:3: error: tiktok_to_ecwid.SHIPPED: 'SHIPPED' is not a TikTok order status "
            "(expected one of: UNPAID, ON_HOLD, AWAITING_SHIPMENT, PARTIALLY_SHIPPING, AWAITING_COLLECTION, "
            "IN_TRANSIT, DELIVERED, COMPLETED, CANCELLED)"
        ],
    ),
    "ecwid status as a value": (
        "rules/orders.yaml",
        "    paymentStatus: PAID",
        "    paymentStatus: PAYED",
        [
            "rules/orders.yaml:8:20: error: import.ecwid.paymentStatus: 'PAYED' is not an Ecwid paymentStatus "
            "(expected one of: AWAITING_PAYMENT, PAID, CANCELLED, REFUNDED, PARTIALLY_REFUNDED, INCOMPLETE, "
            "CUSTOM_PAYMENT_STATUS_1, CUSTOM_PAYMENT_STATUS_2, CUSTOM_PAYMENT_STATUS_3)"
        ],
    ),
    "tiktok order status inside an expression": (
        "rules/orders.yaml",
        "order.status == 'AWAITING_SHIPMENT'",
        "order.status == 'READY_TO_SHIP'",
        [
            "rules/orders.yaml:6:9: error: import.when: 'READY_TO_SHIP' is not a TikTok order status "
            "(expected one of: UNPAID, ON_HOLD, AWAITING_SHIPMENT, PARTIALLY_SHIPPING, AWAITING_COLLECTION, "
            "IN_TRANSIT, DELIVERED, COMPLETED, CANCELLED)"
        ],
    ),
    "import start that is not a date": (
        "rules/orders.yaml",
        "  # from: 2026-12-01T00:00:00Z",
        "  from: 2026-13-01T00:00:00Z",
        ["rules/orders.yaml:13:9: error: import.from: '2026-13-01T00:00:00Z' is not a date and time; write it like "
         "2026-12-01T00:00:00Z (UTC) or 2026-12-01T00:00:00-05:00 (New York in winter)"],
    ),
    "import start without a time zone": (
        "rules/orders.yaml",
        "  # from: 2026-12-01T00:00:00Z",
        "  from: 2026-12-01",
        ["rules/orders.yaml:13:9: error: import.from: '2026-12-01' has no time zone; write the time and its zone, "
         "like 2026-12-01T00:00:00Z (UTC) or 2026-12-01T00:00:00-05:00 (New York in winter)"],
    ),
    "import start as Unix seconds": (
        "rules/orders.yaml",
        "  # from: 2026-12-01T00:00:00Z",
        "  from: 1796083200",
        ["rules/orders.yaml:13:9: error: import.from: expected string, got integer (put the value in quotes)"],
    ),
    "expression nested too deeply (used to be a RecursionError out of load)": (
        "rules/orders.yaml",
        "order.status == 'AWAITING_SHIPMENT'",
        "order" + ".a" * 1000 + " == 1",
        ["rules/orders.yaml:6:9: error: import.when: nested deeper than 50 levels; split it into simpler rules"],
    ),
    "expression with too many brackets": (
        "rules/selling.yaml",
        "'Clearance' in product.categories",
        "(" * 500 + "'Clearance' in product.categories" + ")" * 500,
        ["rules/selling.yaml:9:11: error: selling[0].when: more than 20 nested brackets or blocks; "
         "split it into simpler rules"],
    ),
    "a secret pasted where its variable's name belongs": (
        "tokbridge.yaml",
        "token_env: ECWID_TOKEN ",
        "token_env: secret_4Fh2kLq9ZxR7tY1wPm3N ",
        ["tokbridge.yaml:10:14: error: ecwid.token_env: the environment variable named here is not set, and the "
         "name does not look like one (UPPER_CASE): if it is the secret itself, put ECWID_TOKEN=<it> in "
         ".tokbridge/secrets and name ECWID_TOKEN here (what is written here is not repeated, as it may be a secret)"],
    ),
    "a secret that is not even a name, pasted where its variable's name belongs": (
        "tokbridge.yaml",
        "app_secret_env: TIKTOK_APP_SECRET",
        "app_secret_env: 'hunter2 hunter2'",
        ["tokbridge.yaml:15:19: error: tiktok.app_secret_env: not an environment variable name (letters, digits and "
         "_); write the variable's name here, such as ECWID_TOKEN, and its value in .tokbridge/secrets (what is "
         "written here is not repeated, as it may be a secret)"],
    ),
    "a field the product does not have": (
        "rules/selling.yaml",
        "'Clearance' in product.categories",
        "'Clearance' in product.image",
        ["rules/selling.yaml:9:11: error: selling[0].when: 'product' has no field 'image'; did you mean 'images'?"],
    ),
    "a field the variant does not have": (
        "rules/selling.yaml",
        "variant.cost_price * 1.2 if variant.cost_price else 0",
        "variant.cost_prise * 1.2",
        ["rules/selling.yaml:15:12: error: selling[0].price.min: 'variant' has no field 'cost_prise'; "
         "did you mean 'cost_price'?"],
    ),
    "a misspelt filter": (
        "rules/selling.yaml",
        "'Clearance' in product.categories",
        "'Clearance' in product.categories | lenght",
        ["rules/selling.yaml:9:11: error: selling[0].when: unknown filter 'lenght'; did you mean 'length'?"],
    ),
    "a tab in the indentation": (
        "rules/selling.yaml",
        "  - name: default",
        "\t- name: default",
        ["rules/selling.yaml:20:1: error: YAML syntax error: tabs are not allowed in YAML indentation; use spaces"],
    ),
    "version": (
        "mappings/attributes.yaml",
        "version: 1",
        "version: 2",
        ["mappings/attributes.yaml:3:10: error: version: unsupported version 2: this tokbridge reads version 1"],
    ),
    "unreachable policy": (
        "rules/selling.yaml",
        "    when: \"'Clearance' in product.categories\"\n",
        "",
        [
            "rules/selling.yaml:19:5: error: selling[1]: policy 'default' is never used: policy 'clearance' above "
            "has no `when` and matches every product"
        ],
    ),
    "ship without a provider": (
        "rules/orders.yaml",
        '    shipping_provider: "{{ carriers[order.shippingOption.shippingCarrierName] }}"\n',
        "",
        ["rules/orders.yaml:23:5: error: ecwid_to_tiktok[0]: ship_package needs shipping_provider"],
    ),
}


def _diagnostics(root: Path, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load(root, env=ENV if env is None else env)
    return [str(d) for d in caught.value.diagnostics]


@pytest.mark.parametrize("case", list(CASES))
def test_each_mistake_kind_is_reported_exactly(shop: Path, case: str) -> None:
    file, old, new, expected = CASES[case]
    plant(shop, file, old, new)
    assert _diagnostics(shop) == expected


def test_environment_variable_named_but_not_set(shop: Path) -> None:
    (shop / ".tokbridge" / "secrets").unlink()
    env = {k: v for k, v in ENV.items() if k != "TIKTOK_APP_SECRET"}
    assert _diagnostics(shop, env) == [
        "tokbridge.yaml:15:19: error: tiktok.app_secret_env: environment variable TIKTOK_APP_SECRET is not set "
        "(export it, or add TIKTOK_APP_SECRET=... to .tokbridge/secrets)"
    ]


def test_defaulted_environment_variable_points_at_its_section(shop: Path) -> None:
    (shop / ".tokbridge" / "secrets").unlink()
    plant(shop, "tokbridge.yaml", "  token_env: ECWID_TOKEN        # holds your Ecwid secret token\n", "")
    env = {k: v for k, v in ENV.items() if k != "ECWID_TOKEN"}
    assert _diagnostics(shop, env) == [
        "tokbridge.yaml:8:1: error: ecwid: environment variable ECWID_TOKEN is not set "
        "(export it, or add ECWID_TOKEN=... to .tokbridge/secrets)"
    ]


def test_all_problems_in_one_run_sorted_by_position(shop: Path) -> None:
    plant(shop, "rules/sync.yaml", "on_ecwid_delete: delete ", "on_ecwid_delete: remove ")
    plant(shop, "rules/selling.yaml", "  - name: default", "  - name: clearance")
    plant(shop, "rules/selling.yaml", "    when: \"'Clearance'", "    when: \"'Clearance' in prodct.x or '")
    plant(shop, "tokbridge.yaml", "region: US ", "region: FR ")
    lines = _diagnostics(shop)
    assert [line.split(": error")[0] for line in lines] == [
        "rules/selling.yaml:9:11",
        "rules/selling.yaml:20:11",
        "rules/sync.yaml:33:18",
        "tokbridge.yaml:6:9",
    ]


def test_output_formats() -> None:
    diagnostic = Diagnostic("rules/a.yaml", 3, 7, "selling[0].name", "bad, really: 100%", "schema")
    assert render(diagnostic, OutputFormat.STANDARD, prefix="shop") == (
        "shop/rules/a.yaml:3:7: error: selling[0].name: bad, really: 100%"
    )
    assert render(diagnostic, OutputFormat.PARSABLE) == (
        "rules/a.yaml:3:7: [error] selling[0].name: bad, really: 100% (schema)"
    )
    assert render(diagnostic, OutputFormat.GITHUB, prefix=".") == (
        "::error file=rules/a.yaml,line=3,col=7::selling[0].name: bad, really: 100%25"
    )


@pytest.mark.parametrize("text", ["a:\n\t- 1\n", "a:\n  b: 1\n\tc: 2\n", "version: 1\nselling:\n\t- name: x\n"])
def test_a_tab_in_indentation_is_named_whatever_libyaml_calls_it(text: str) -> None:
    with pytest.raises(YamlProblem) as caught:
        parse(text, "rules/selling.yaml")
    assert caught.value.diagnostic.message == "YAML syntax error: tabs are not allowed in YAML indentation; use spaces"
