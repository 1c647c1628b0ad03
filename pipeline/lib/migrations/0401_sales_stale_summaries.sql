-- Datasources whose rows in the per-datasource summaries (analytics.sales_overview,
-- product_performance, branch_performance) are out of date: marked by every load in its own
-- transaction, consumed by each summary, so a file recomputes its datasource's rows and not
-- the whole warehouse's.
CREATE TABLE sales.stale_summaries (
    summary    VARCHAR NOT NULL,
    datasource VARCHAR NOT NULL,
    PRIMARY KEY (summary, datasource)
);

-- Lines loaded before this migration may not be summarised yet.
INSERT INTO sales.stale_summaries
SELECT s.summary, d.datasource
FROM (VALUES ('sales_overview'), ('product_performance'), ('branch_performance')) AS s(summary),
     (SELECT DISTINCT datasource FROM sales.transactions) AS d;
