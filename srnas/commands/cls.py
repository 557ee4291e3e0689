"""``srnas cls <command>``: the classification module (DARTS / NAS-Bench-201) under the ``srnas`` command.

The same commands and flags as ``python -m classification <command>``, which keeps working.
"""
HELP = 'classification NAS (DARTS / NAS-Bench-201): srnas cls search|train|eval|query|landscape ...'


def main(argv):
    from classification.__main__ import main as classification_main
    return classification_main(argv, prog='srnas cls')
