"""Versioned warehouse migrations (NNNN_name.sql), applied by pipeline.lib.warehouse.migrate."""
