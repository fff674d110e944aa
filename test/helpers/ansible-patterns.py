"""Evaluates host patterns with Ansible's own InventoryManager, many in one process.

For each pattern P it prints what `ansible P -i INVENTORY --list-hosts` lists (list_hosts)
and what `ansible all -i INVENTORY --limit P --list-hosts` lists (subset, then list_hosts),
as one JSON object: {P: {"pattern": [...] | {"error": msg}, "limit": [...] | {"error": msg}}}.
Usage: ansible-patterns.py INVENTORY PATTERNS_JSON
"""
import json
import sys

from ansible.inventory.manager import InventoryManager
from ansible.parsing.dataloader import DataLoader


def names(run):
    try:
        return [h.name if hasattr(h, 'name') else h for h in run()]
    except Exception as e:  # Ansible's own refusal (bad subscript, bad regex, missing @file)
        return {'error': str(e)}


def main():
    inventory = InventoryManager(loader=DataLoader(), sources=[sys.argv[1]])
    out = {}
    for pattern in json.loads(sys.argv[2]):
        inventory.subset(None)
        inventory.clear_pattern_cache()
        as_pattern = names(lambda: inventory.list_hosts(pattern))

        def limited():
            inventory.subset(pattern)
            return inventory.list_hosts('all')

        inventory.clear_pattern_cache()
        out[pattern] = {'pattern': as_pattern, 'limit': names(limited)}
    json.dump(out, sys.stdout)


main()
