"""The keys of assets that another domain's definitions refer to. A domain refers to another
domain's assets by key, never by importing its module, so each can load (and be tested) alone;
keys used only inside their own domain stay there."""

import dagster as dg

GRANTS = dg.AssetKey("grants")
GRANT_CHANGES = dg.AssetKey("grant_changes")
ORGANIZATIONS = dg.AssetKey("organizations")
CLIENT_NEWS = dg.AssetKey("client_news")
CRM_CLIENTS = dg.AssetKey("crm_clients")
GRANT_MATCHES = dg.AssetKey("grant_matches")
NEWS_SCORES = dg.AssetKey("news_scores")
