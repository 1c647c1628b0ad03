"""`pipeline serve`: the small web service recipients of e-mail reach (unsubscribe, preferences,
open and click tracking). See docs/notify.md."""
