"""``cosession report``: a self-contained HTML file of a tenant's trends, k enforced."""

from __future__ import annotations

import re
from pathlib import Path

from tests.support.trend_report import run_report, tenant_with_rooms


async def test_report_is_self_contained_and_hides_small_groups(tmp_path: Path) -> None:
    db = tmp_path / "r.db"
    tenant = await tenant_with_rooms(db)
    out = tmp_path / "report.html"
    code, stdout, stderr = await run_report(db, "--tenant", tenant, "--out", str(out))
    assert code == 0, stderr
    assert str(out) in stdout
    page = out.read_text()
    assert "<script" not in page and not re.search(r"""(?:src|href)=["']?(?:https?:)?//""", page)
    assert page.count("<svg") == 6  # products, added together, viewed together, votes, group sizes, checkout
    assert "sku-shoe" in page and "sku-sock" in page and "sku-hat" not in page  # 2 rooms: below k
    assert "22 rooms, 22 units" in page and "sku-shoe + sku-sock" in page and "sku-boot + sku-shoe" in page
    assert "hidden (&lt; k)" in page  # the 6-person groups, and the 3-person bucket hidden with them
    assert "k = 10" in page


def _written(path: str) -> bool:
    return Path(path).exists()


async def test_report_refuses_bad_arguments(tmp_path: Path) -> None:
    db = tmp_path / "r.db"
    tenant = await tenant_with_rooms(db)
    out = str(tmp_path / "x.html")
    assert (await run_report(db, "--tenant", "t_nobody", "--out", out))[0] == 1
    assert (await run_report(db, "--tenant", tenant, "--out", out, "--k", "3"))[0] == 2  # below the server's k
    code, _, err = await run_report(db, "--tenant", tenant, "--out", out, "--from", "2026-02-30")
    assert code == 2 and "error" in err
    assert not _written(out)


async def test_report_uses_the_tenants_own_k(tmp_path: Path) -> None:
    """A tenant that raised its k (``PUT /v1/admin/trends``) gets a report with that k,
    and ``--k`` below it is refused."""
    from cosession.store.store_sql import SqlStore
    from cosession.trends.tenant_k import set_tenant_k

    db = tmp_path / "r.db"
    tenant = await tenant_with_rooms(db)
    store = SqlStore(f"sqlite:///{db}")
    await store.start()
    try:
        await set_tenant_k(store, tenant, 11)
    finally:
        await store.close()
    out = tmp_path / "report.html"
    code, _, stderr = await run_report(db, "--tenant", tenant, "--out", str(out))
    assert code == 0, stderr
    page = out.read_text()
    assert "k = 11" in page and "sku-shoe" in page  # 22 rooms: still shown
    assert "sku-boot + sku-shoe" not in page  # viewed together in 10 rooms: below 11 now
    code, _, err = await run_report(db, "--tenant", tenant, "--out", str(tmp_path / "y.html"), "--k", "10")
    assert code == 2 and "at least 11" in err and not _written(str(tmp_path / "y.html"))
