"""Built-in attrbench task plugins (installed as ``attrbench_tasks``)."""
