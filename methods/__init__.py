"""Built-in attrbench method plugins (installed as ``attrbench_methods``)."""
