"""Sales: landed files -> validated lines -> analytics -> dashboard."""
