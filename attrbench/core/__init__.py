"""The plugin contract: tensors, data records, the plugin records and their registries."""
