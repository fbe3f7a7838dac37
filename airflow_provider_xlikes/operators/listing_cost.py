"""A listing's cost: the expected cost, what a resumed try goes on counting from, the summary in the
manifest and XCom, and the stop before the request whose page could cross ``max_cost_usd``."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any, NoReturn

from airflow_provider_xlikes.exceptions import XBudgetExhaustedError
from airflow_provider_xlikes.operators.listing_core import ListingCore
from airflow_provider_xlikes.pages import Page
from airflow_provider_xlikes.pricing import format_usd
from airflow_provider_xlikes.validation import validate_names


class BudgetStop(Exception):
    """The listing stops before a request that could cross ``max_cost_usd`` (``on_budget_exhausted="commit"``)."""

    def __init__(self, partial: dict[str, Any]) -> None:
        super().__init__(partial["detail"])
        self.partial = partial


class ListingBudget(ListingCore):
    """The cost side of a listing (see :mod:`airflow_provider_xlikes.pricing`)."""

    def _expected_usd(self, resume: Mapping[str, Any] | None, expected: int | None) -> float | None:
        """The estimated cost of the whole listing: what was spent (the count lookup) and the
        expected records at their price (includes come on top, as they arrive)."""
        if resume is not None and "expected_usd" in resume:
            value = resume["expected_usd"]
            return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
        if expected is None:
            return None
        meter = self.hook.costs
        usd = meter.usd + meter.prices.cost(self.endpoint, expected, owned=self._owned)
        self.log.info(
            "%s: expected cost ~%s for ~%s records%s (estimate: %s; includes on top as they arrive)%s",
            self.endpoint.name,
            format_usd(usd),
            f"{expected:,}",
            " (owned reads)" if self._owned else "",
            meter.prices.source,
            f"; max_cost_usd={self.max_cost_usd}" if self.max_cost_usd is not None else "",
        )
        return usd

    def _cost_state(self) -> dict[str, Any]:
        """What a resumed try needs to go on counting the cost."""
        return {"cost": self.hook.costs.to_json(), "expected_usd": self._progress.expected_usd}

    def cost_summary(self) -> dict[str, Any]:
        """Resources returned by kind and the estimated cost, with its assumptions (manifest, ``meta``)."""
        return self.hook.costs.summary(
            expected_cost_usd=None if self._progress.expected_usd is None else round(self._progress.expected_usd, 6),
            max_cost_usd=self.max_cost_usd,
            owned_reads=self._owned,
        )

    def _next_page_bound(self, collected: int) -> tuple[int, float]:
        """(records, USD) of the costliest next page: ``max_results`` records (fewer where
        ``max_records`` or X's per-id cap leaves fewer), each with its includes at their bound."""
        size = self.max_results
        if self.max_records is not None:
            assert self.endpoint.page_size is not None
            size = max(min(size, self.max_records - collected), self.endpoint.page_size[0])
        if self.endpoint.listing_cap is not None:
            size = min(size, max(self.endpoint.listing_cap - collected, 0))
        meter = self.hook.costs
        expansions = validate_names(self.endpoint, "expansions", self.lists.get("expansions"))
        bounds = meter.include_bounds(expansions)
        return size, meter.prices.page_bound(self.endpoint, size, bounds, owned=self._owned)

    def _within_budget(
        self, pages: Iterable[Page], source_id: str, collected: int, token: str | None
    ) -> Iterator[Page]:
        """``pages`` (from the cursor ``token``), stopped before the request whose page could cross
        ``max_cost_usd``."""
        limit = self.max_cost_usd
        if limit is None:
            yield from pages
            return
        iterator = iter(pages)
        while True:
            size, bound = self._next_page_bound(collected)
            spent = self.hook.costs.usd
            if size > 0 and self.hook.costs.could_cross(bound, limit):
                self._budget_exhausted(source_id, collected, spent, size, bound, token)
            page = next(iterator, None)
            if page is None:
                return
            collected += len(page.data)
            token = page.next_token
            yield page
            if page.next_token is None or (self.max_records is not None and collected >= self.max_records):
                yield from iterator  # no request follows (the listing ends)
                return

    def _budget_exhausted(
        self, source_id: str, collected: int, spent: float, size: int, bound: float, token: str | None
    ) -> NoReturn:
        detail = (
            f"{self.endpoint.name} {self.endpoint.id_argument}={source_id}: stopped before the next request, "
            f"whose page could cross max_cost_usd={self.max_cost_usd} (spent ~{format_usd(spent)} on this task's "
            f"requests; the next page may cost up to {format_usd(bound)}: {size} records with their includes); "
            f"{collected:,} records read"
        )
        if self.on_budget_exhausted == "fail":
            raise XBudgetExhaustedError(
                detail + "; nothing was committed: raise max_cost_usd, or set on_budget_exhausted='commit' to keep "
                "what was read"
            )
        self.log.warning("%s; committing what was read (on_budget_exhausted='commit')", detail)
        raise BudgetStop(
            {
                "reason": "max_cost_usd",
                "detail": detail,
                "max_cost_usd": self.max_cost_usd,
                "spent_usd": round(spent, 6),
                "next_page_bound_usd": round(bound, 6),
                "records": collected,
                "next_token": token,
            }
        )

    def _pages(self, source_id: str, *, collected: int = 0, pagination_token: str | None = None) -> Iterator[Page]:
        """Pages from ``pagination_token`` on, ``collected`` records already counted toward ``max_records``."""
        remaining = None if self.max_records is None else self.max_records - collected
        if remaining is not None and remaining <= 0:
            return iter(())
        pages = self.hook.iter_listing(
            self.endpoint,
            source_id,
            max_results=self.max_results,
            max_records=remaining,
            pagination_token=pagination_token,
            **self.request_lists,
        )
        return self._within_budget(pages, source_id, collected, pagination_token)
