"""Classification training resumed from any checkpoint (mid-epoch included) ends bit-identical (issue 11)."""
import json
import re
import shutil

import pytest
import torch

from classification.train import run_train
from srnas.nas import checkpoints as ckpt

CELL = '|nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|avg_pool_3x3~0|skip_connect~1|none~2|'


def _options(root, name, **train):
    return {'name': name, 'manual_seed': 0, 'num_gpu': 0, 'output_root': str(root), 'genotype': CELL,
            'space': {'type': 'nb201', 'channels': 4, 'cells_per_stage': 1},
            'data': {'name': 'digits', 'image_size': 8, 'batch_size': 4, 'eval_batch_size': 16, 'subset': 16},
            'train': {'epochs': 2, 'max_steps_per_epoch': 3, **train}}


def test_training_resumed_from_each_checkpoint_is_bit_identical(tmp_path):
    full = run_train(_options(tmp_path, 'full', checkpoint_every_iters=2, keep_checkpoints=20))
    saved = ckpt.checkpoints_newest_first(full['output_dir'] / 'checkpoints')
    assert sorted(ckpt.checkpoint_position(p) for p in saved) == [(0, 2), (0, float('inf')), (1, 1), (1, 3),
                                                                  (1, float('inf'))]
    for checkpoint in saved[1:]:
        name = checkpoint.stem
        folder = tmp_path / name / 'checkpoints'
        folder.mkdir(parents=True)
        shutil.copy(checkpoint, folder / checkpoint.name)
        resumed = run_train(_options(tmp_path, name), auto_resume=True)
        for (key, a), b in zip(full['model'].state_dict().items(), resumed['model'].state_dict().values()):
            assert torch.equal(a, b), (name, key)
        assert resumed['test'] == full['test']
        lines = [json.loads(line) for line in (resumed['output_dir'] / 'metrics.jsonl').read_text().splitlines()]
        assert [line['epoch'] for line in lines] == [0, 1]  # rewritten whole: no epoch twice


def test_a_foreign_or_broken_training_checkpoint_is_one_clear_error(tmp_path):
    run_train(_options(tmp_path, 'run', epochs=1))
    other = _options(tmp_path, 'run', epochs=2)
    other['genotype'] = CELL.replace('nor_conv_3x3~0', 'nor_conv_1x1~0')
    expected = ("belongs to another run: genotype.genotype is '|nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|"
                "+|avg_pool_3x3~0|skip_connec... in the checkpoint, '|nor_conv_1x1~0|")
    with pytest.raises(ckpt.CheckpointError, match=re.escape(expected)):
        run_train(other, auto_resume=True)
    newest = ckpt.checkpoints_newest_first(tmp_path / 'run' / 'checkpoints')[0]
    newest.write_bytes(newest.read_bytes()[:100])
    with pytest.raises(ckpt.CheckpointError, match='cannot be read'):
        run_train(_options(tmp_path, 'run', epochs=2), auto_resume=True)
