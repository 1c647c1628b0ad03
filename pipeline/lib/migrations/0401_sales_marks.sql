-- Datasources whose rows in the per-datasource summaries (analytics.sales_overview,
-- product_performance, branch_performance) are out of date: marked by every load in its own
-- transaction, consumed by each summary, so a file recomputes its datasource's rows and not
-- the whole warehouse's.
CREATE TABLE sales.stale_summaries (
    summary    VARCHAR NOT NULL,
    datasource VARCHAR NOT NULL,
    marked_by  UUID,
    PRIMARY KEY (summary, datasource)
);

-- Every mark (here and in sales.dirty_days) names the write that set it last, and a refresh
-- clears only the marks it read: on DuckLake a load can commit while a refresh runs, and its
-- marks must outlive a refresh that did not see its lines.
ALTER TABLE sales.dirty_days ADD COLUMN marked_by UUID;

-- Lines loaded before this migration may not be summarised yet.
INSERT INTO sales.stale_summaries
SELECT s.summary, d.datasource, uuid()
FROM (VALUES ('sales_overview'), ('product_performance'), ('branch_performance')) AS s(summary),
     (SELECT DISTINCT datasource FROM sales.transactions) AS d;
