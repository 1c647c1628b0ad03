-- Sales files, their validated lines, rejected rows, and the analytics built from them.

-- One row per distinct file content that reached the landing zone (a renamed copy is the same file).
CREATE TABLE sales.files (
    file_hash      VARCHAR PRIMARY KEY,          -- sha256 of the bytes; the sales_files partition key
    datasource     VARCHAR NOT NULL,
    file_name      VARCHAR NOT NULL,
    landing_key    VARCHAR NOT NULL,             -- path (local) or key (S3) inside the landing zone
    size_bytes     BIGINT,
    format         VARCHAR,                      -- csv | csv.gz | xlsx | xls | parquet
    status         VARCHAR NOT NULL,             -- landed | loaded | rejected
    rows_total     BIGINT,
    rows_loaded    BIGINT,
    rows_rejected  BIGINT,
    reason         VARCHAR,                      -- why a whole file was rejected
    spec           JSON,                         -- the ingestion spec used (hand-written or inferred)
    spec_source    VARCHAR,                      -- config | inferred
    is_sample      BOOLEAN NOT NULL DEFAULT false,
    min_order_date DATE,
    max_order_date DATE,
    landed_at      TIMESTAMPTZ NOT NULL,
    processed_at   TIMESTAMPTZ
);

-- One row per sales line; (datasource, order_id, line) is the key, so a re-upload replaces.
-- The key is enforced by the loader's delete-then-insert in one transaction rather than by a
-- PRIMARY KEY: an ART index over millions of composite keys costs more memory than a 2-core
-- box should spend on a 500 MB upload.
CREATE TABLE sales.transactions (
    datasource   VARCHAR NOT NULL,
    order_id     VARCHAR NOT NULL,
    line         INTEGER NOT NULL,               -- 1-based position of the line within its order
    order_date   DATE NOT NULL,
    branch       VARCHAR NOT NULL,
    product_line VARCHAR NOT NULL,
    product      VARCHAR,
    quantity     DOUBLE NOT NULL,
    unit_price   DOUBLE NOT NULL,                -- net: quantity * unit_price = revenue after discounts, before tax
    revenue      DOUBLE NOT NULL,
    unit_cost    DOUBLE,
    cost         DOUBLE,
    profit       DOUBLE,
    discount     DOUBLE,
    tax          DOUBLE,
    gross_total  DOUBLE,                         -- as given by the file (may include tax)
    source_file  VARCHAR NOT NULL,
    file_hash    VARCHAR NOT NULL,
    row_number   BIGINT NOT NULL,                -- data row in the source file (1 = first row after the header)
    is_sample    BOOLEAN NOT NULL DEFAULT false,
    loaded_at    TIMESTAMPTZ NOT NULL
);

-- One row per rejected row and column (a row can fail on several columns).
CREATE TABLE sales.rejects (
    file_hash    VARCHAR NOT NULL,
    datasource   VARCHAR NOT NULL,
    source_file  VARCHAR NOT NULL,
    row_number   BIGINT,
    "column"     VARCHAR,
    reason       VARCHAR NOT NULL,
    value        VARCHAR,
    rejected_at  TIMESTAMPTZ NOT NULL
);

-- Days whose daily aggregate is out of date: written by every load (old and new dates of the
-- replaced lines), consumed by sales_daily, so a late file recomputes exactly its days.
CREATE TABLE sales.dirty_days (
    datasource VARCHAR NOT NULL,
    order_date DATE NOT NULL,
    PRIMARY KEY (datasource, order_date)
);

CREATE TABLE analytics.sales_daily (
    order_date   DATE NOT NULL,
    datasource   VARCHAR NOT NULL,
    branch       VARCHAR NOT NULL,
    product_line VARCHAR NOT NULL,
    revenue      DOUBLE NOT NULL,
    cost         DOUBLE,
    profit       DOUBLE,
    orders       BIGINT NOT NULL,
    units        DOUBLE NOT NULL,
    lines        BIGINT NOT NULL,
    is_sample    BOOLEAN NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (order_date, datasource, branch, product_line)
);

CREATE TABLE analytics.sales_overview (
    datasource      VARCHAR PRIMARY KEY,         -- '(all)' for the total
    revenue         DOUBLE,
    cost            DOUBLE,
    profit          DOUBLE,
    margin          DOUBLE,
    orders          BIGINT,
    units           DOUBLE,
    lines           BIGINT,
    branches        BIGINT,
    product_lines   BIGINT,
    first_date      DATE,
    last_date       DATE,
    files_loaded    BIGINT,
    files_rejected  BIGINT,
    rows_rejected   BIGINT,
    is_sample       BOOLEAN,
    updated_at      TIMESTAMPTZ
);

CREATE TABLE analytics.product_performance (
    datasource    VARCHAR NOT NULL,
    product_line  VARCHAR NOT NULL,
    revenue       DOUBLE,
    cost          DOUBLE,
    profit        DOUBLE,
    margin        DOUBLE,
    orders        BIGINT,
    units         DOUBLE,
    revenue_share DOUBLE,
    revenue_rank  INTEGER,
    is_sample     BOOLEAN,
    updated_at    TIMESTAMPTZ,
    PRIMARY KEY (datasource, product_line)
);

CREATE TABLE analytics.branch_performance (
    datasource    VARCHAR NOT NULL,
    branch        VARCHAR NOT NULL,
    revenue       DOUBLE,
    cost          DOUBLE,
    profit        DOUBLE,
    margin        DOUBLE,
    orders        BIGINT,
    units         DOUBLE,
    avg_order_value DOUBLE,
    active_days   BIGINT,
    revenue_share DOUBLE,
    revenue_rank  INTEGER,
    is_sample     BOOLEAN,
    updated_at    TIMESTAMPTZ,
    PRIMARY KEY (datasource, branch)
);

-- Margin by month, branch and product line, with the change against the previous month.
CREATE TABLE analytics.profitability (
    month            DATE NOT NULL,
    datasource       VARCHAR NOT NULL,
    branch           VARCHAR NOT NULL,
    product_line     VARCHAR NOT NULL,
    revenue          DOUBLE,
    cost             DOUBLE,
    profit           DOUBLE,
    margin           DOUBLE,
    prev_margin      DOUBLE,
    margin_change    DOUBLE,
    revenue_change   DOUBLE,
    is_sample        BOOLEAN,
    updated_at       TIMESTAMPTZ,
    PRIMARY KEY (month, datasource, branch, product_line)
);
