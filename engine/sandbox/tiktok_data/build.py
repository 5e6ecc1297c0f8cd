"""Rebuild the TikTok sandbox seed data from the real category dumps in ../shared/data/tiktok-categories.

Run by hand (`python -m engine.sandbox.tiktok_data.build <dir>`) when the source dumps change; the
output files are committed so the sandbox never reads outside the package. Deterministic.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).parent
# The L1s a small merchant on Ecwid most often sells in; the rest of the tree is left out to keep
# the seeded tree "a few hundred" categories.
L1_NAMES = (
    "Womenswear & Underwear", "Menswear & Underwear", "Home Supplies", "Kitchenware", "Beauty & Personal Care",
    "Phones & Electronics", "Sports & Outdoor", "Toys & Hobbies", "Pet Supplies", "Shoes", "Fashion Accessories",
    "Jewellery Accessories & Derivatives",
)
MAX_LEAVES_PER_L2 = 6
# No public dump of the US v2 tree exists; v2 reuses the v1 ids and deepens one branch (synthetic ids
# 99000xx) to the 7 levels US sellers see, so clients are exercised on deep chains.
V2_DEEP_UNDER = "601302"  # Womenswear & Underwear > Women's Tops > T-shirts
V2_CHAIN = (("Short Sleeve T-shirts", "Long Sleeve T-shirts"), ("Crew Neck", "V-Neck"),
            ("Cotton", "Polyester"), ("Graphic Tees", "Plain Tees"))


def build(source: Path) -> dict[str, object]:
    uk = json.loads((source / "uk_v1_leaf_category_paths.json").read_text())
    id_tree = {c["id"]: c for c in json.loads((source / "id_v1_categories.json").read_text())["data"]["categories"]}
    rules = json.loads((source / "id_v1_category_rules.json").read_text())["rules"]
    nodes: dict[str, dict[str, object]] = {}
    per_l2: dict[str, int] = {}
    for entry in uk:
        names = [part.strip() for part in entry["category_path"].split(">")]
        leaf_id = str(entry["category_id"])
        if len(names) != 3 or names[0] not in L1_NAMES or leaf_id not in id_tree:
            continue
        l2_id = id_tree[leaf_id]["parent_id"]
        l1_id = id_tree.get(l2_id, {}).get("parent_id", "")
        if not l1_id or id_tree[l1_id]["parent_id"] != "0":
            continue
        if per_l2.get(l2_id, 0) >= MAX_LEAVES_PER_L2:
            continue
        per_l2[l2_id] = per_l2.get(l2_id, 0) + 1
        for cid, parent, name, leaf in ((l1_id, "0", names[0], False), (l2_id, l1_id, names[1], False),
                                        (leaf_id, l2_id, names[2], True)):
            nodes.setdefault(cid, {"id": cid, "parent_id": parent, "local_name": name, "is_leaf": leaf,
                                   "permission_statuses": ["AVAILABLE"]})
    v1 = sorted(nodes.values(), key=lambda c: (str(c["parent_id"]), str(c["id"])))
    v2 = [dict(c) for c in v1]
    parent = V2_DEEP_UNDER
    next_id = 9900001
    for deeper, sibling in V2_CHAIN:
        for node in v2:
            if node["id"] == parent:
                node["is_leaf"] = False
        deep_id, sib_id = str(next_id), str(next_id + 1)
        next_id += 2
        v2.append({"id": deep_id, "parent_id": parent, "local_name": deeper, "is_leaf": True,
                   "permission_statuses": ["AVAILABLE"]})
        v2.append({"id": sib_id, "parent_id": parent, "local_name": sibling, "is_leaf": True,
                   "permission_statuses": ["AVAILABLE"]})
        parent = deep_id
    size_charts = {cid: rules[cid]["rules"].get("size_chart", {}) for cid in nodes if cid in rules}
    attributes = [
        {"id": a["id"], "name": a["name"],
         "type": "SALES_PROPERTY" if a["attribute_type"] == 2 else "PRODUCT_PROPERTY",
         "is_requried": bool(a["required"]), "is_customizable": bool(a["customized_name"]),
         "is_multiple_selection": bool(a["is_multiselect"]), "values": a.get("values") or []}
        # The file's non-numeric ids are the connector's own form fields, not TikTok attributes.
        for a in json.loads((source / "uk_v1_sample_attributes.json").read_text()) if str(a["id"]).isdigit()
    ]
    return {"v1": v1, "v2": v2, "size_charts": size_charts, "attributes": attributes}


def main() -> None:
    data = build(Path(sys.argv[1]))
    (HERE / "categories.json").write_text(json.dumps(data, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
