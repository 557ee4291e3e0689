"""Super-resolve the user's own images (no ground truth): one file or a folder, optionally tiled."""
import sys
from pathlib import Path

from srnas.utils.errors import InputError
from srnas.utils.image_io import IMAGE_EXTENSIONS, list_images, read_image, write_image


def input_images(path):
    """Image paths from a file or a folder."""
    path = Path(path)
    if path.is_file():
        if path.suffix.lower() not in IMAGE_EXTENSIONS:
            raise InputError(f'{path} is not an image ({", ".join(IMAGE_EXTENSIONS)})')
        return [path]
    return list_images(path)


def super_resolve_folder(model, inputs, output_dir, scale, model_name, device='cpu', tile=0, tile_pad=10,
                        allow_tile_seams=False):
    """Write ``<output_dir>/<name>_<model_name>.png`` for every input; returns (written, failed) paths.

    An unreadable image is reported on stderr and skipped, the others are still processed.
    """
    from srnas.evaluation.benchmarks import super_resolve
    model = model.to(device).eval()
    written, failed = [], []
    for path in input_images(inputs):
        try:
            lq = read_image(path)
        except InputError as exc:
            print(f'skipped: {exc}', file=sys.stderr)
            failed.append(path)
            continue
        sr = super_resolve(model, lq, device=device, tile=tile, tile_pad=tile_pad, scale=scale,
                           allow_tile_seams=allow_tile_seams)
        out_path = Path(output_dir) / f'{path.stem}_{model_name}.png'
        write_image(out_path, sr)
        written.append(out_path)
    return written, failed
