"""Fuzzed image folders and genotype files: exit 2 with one line naming the file and the option, or a run;
never a traceback (issue 11, item 4). Commands run in this process (tests.fuzz.fuzz_helpers)."""
import contextlib
import json
import tempfile
from pathlib import Path

import cv2
import numpy as np
from hypothesis import event, given, strategies as st

from tests.fuzz.fuzz_helpers import error_line, mutated, run_cli, write_json, write_yaml
from tests.fuzz.test_fuzz_options import sr_test_options, train_options

IMAGE_KINDS = ('rgb', 'rgb', 'grey', 'rgba', '16bit', 'truncated', 'not_an_image', 'empty_file')


@st.composite
def image_folder(draw):
    """[(name, GT spec, LR spec)]: each spec is (kind, height, width) or None (file absent)."""
    count = draw(st.integers(0, 3))
    pairs = []
    for i in range(count):
        h, w = draw(st.integers(4, 24)), draw(st.integers(4, 24))
        gt = (draw(st.sampled_from(IMAGE_KINDS)), 2 * h, 2 * w)
        size = draw(st.sampled_from(['fits', 'fits', 'off_by_one', 'any']))
        lh, lw = {'fits': (h, w), 'off_by_one': (h + 1, w), 'any': (draw(st.integers(1, 30)), w)}[size]
        lr = None if draw(st.integers(0, 9)) == 0 else (draw(st.sampled_from(IMAGE_KINDS)), lh, lw)
        pairs.append((f'im{i}', gt, lr))
    return pairs


def _write_image(path, spec, rng):
    kind, h, w = spec
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == 'not_an_image':
        path.write_text('not an image\n')
        return
    if kind == 'empty_file':
        path.write_bytes(b'')
        return
    shape = {'grey': (h, w), 'rgba': (h, w, 4)}.get(kind, (h, w, 3))
    if kind == '16bit':
        img = rng.integers(0, 65536, shape, dtype=np.uint16)
    else:
        img = rng.integers(0, 256, shape, dtype=np.uint8)
    ok, data = cv2.imencode('.png', img)
    assert ok
    data = data.tobytes()
    path.write_bytes(data[:len(data) // 2] if kind == 'truncated' else data)


def _write_folder(root, pairs, seed=0):
    rng = np.random.default_rng(seed)
    (root / 'GT').mkdir(parents=True)
    (root / 'LQ').mkdir(parents=True)
    for name, gt, lr in pairs:
        _write_image(root / 'GT' / f'{name}.png', gt, rng)
        if lr is not None:
            _write_image(root / 'LQ' / f'{name}.png', lr, rng)
    return root / 'GT', root / 'LQ'


def _one_case(command, fuzz_inputs, pairs):
    with tempfile.TemporaryDirectory() as tmp, contextlib.chdir(tmp):
        tmp = Path(tmp)
        folders = _write_folder(tmp / 'data', pairs)
        if command == 'train':
            opt = train_options(fuzz_inputs)
            phase = 'train'
        else:
            opt = sr_test_options(fuzz_inputs)
            phase = 'test_1'
        opt['datasets'][phase].update(dataroot_gt=str(folders[0]), dataroot_lq=str(folders[1]))
        yml = write_yaml(opt, tmp / f'{command}.yml')
        code, _, err = run_cli([command, '-opt', str(yml), '--root', str(tmp)])
        line = error_line(code, err, f'srnas {command}: error: ')
    if line:
        assert str(yml) in line and f'datasets.{phase}' in line, line
    return line


@given(pairs=image_folder())
def test_train_image_folder_fuzzed(fuzz_inputs, pairs):
    event(f'train folder: {"exit 2" if _one_case("train", fuzz_inputs, pairs) else "ran"}')


@given(pairs=image_folder())
def test_test_image_folder_fuzzed(fuzz_inputs, pairs):
    event(f'test folder: {"exit 2" if _one_case("test", fuzz_inputs, pairs) else "ran"}')


def _genotype_document(fuzz_inputs):
    return json.loads(Path(fuzz_inputs['genotype']).read_text())


@st.composite
def genotype_file(draw, base):
    """Bytes of a genotype file: the valid one mutated, cut short, or random bytes."""
    kind = draw(st.sampled_from(['mutated', 'mutated', 'mutated', 'truncated', 'random_bytes']))
    if kind == 'mutated':
        document, description, _ = draw(mutated(base))
        return json.dumps(document).encode(), description
    text = json.dumps(base).encode()
    if kind == 'truncated':
        return text[:draw(st.integers(0, len(text) - 1))], 'truncated'
    return draw(st.binary(max_size=64)), 'random bytes'


@given(data=st.data())
def test_genotype_files_fuzzed(fuzz_inputs, data):
    content, description = data.draw(genotype_file(_genotype_document(fuzz_inputs)))
    command = data.draw(st.sampled_from(['derive', 'export']))
    with tempfile.TemporaryDirectory() as tmp, contextlib.chdir(tmp):
        path = Path(tmp) / 'genotype.json'
        path.write_bytes(content)
        if command == 'derive':
            argv = ['derive', '-g', str(path), '--preset', 'demo', '--out_dir', str(Path(tmp) / 'derived')]
        else:
            argv = ['export', '--genotype', str(path), '--scale', '2', '--num_feat', '8', '-o', str(Path(tmp) / 'x'),
                    '--no_onnx', '--sizes', '8x8']
        code, _, err = run_cli(argv)
        line = error_line(code, err, f'srnas {command}: error: ')
    event(f'{command} genotype: {"exit 2" if line else "ran"}')
    if line:
        assert str(path) in line, f'{description}: {line}'


def test_a_valid_genotype_file_and_folder_run(fuzz_inputs, tmp_path):
    """The starting points are valid, so the errors above come from what the fuzzer changed."""
    path = write_json(_genotype_document(fuzz_inputs), tmp_path / 'g.json')
    assert run_cli(['derive', '-g', str(path), '--preset', 'demo', '--out_dir', str(tmp_path / 'd')])[0] == 0
    assert _one_case('test', fuzz_inputs, [('a', ('rgb', 16, 16), ('rgb', 8, 8))]) is None
