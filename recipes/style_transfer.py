"""Neural style transfer (Gatys et al. 2016): paint a content photo in a style image's manner.

Offline by default: the content is scikit-image's ``chelsea.png`` (a cat), the style
scikit-image's ``ihc.png`` (a stained tissue micrograph with a strong brown/blue
texture), and the VGG16 conv weights are the offline ``"vgg16-hed"`` set.

Commands::

    python recipes/style_transfer.py --quick                      # < 60 s on 2 CPU cores, 224 px, 150 Adam steps
    python recipes/style_transfer.py --content me.jpg --style starry.jpg --size 512 --steps 300
    python recipes/style_transfer.py --style a.jpg --style b.jpg --style-weights 0.7,0.3
    python recipes/style_transfer.py --optimizer lbfgs --preserve-color

Writes ``stylized.png``, ``triptych.png`` (content | style | result), ``losses.png``
and ``metrics.json`` (initial_loss, final_loss, style_loss_reduction, content_loss,
seconds_per_step, train_seconds, size) into ``--out``, and what painting new photos the same way
needs: the style images (``style/``) and the settings (``run.json``)::

    python recipes/predict.py runs/style_transfer-... another_photo.jpg --out painted/
"""

import pathlib
import sys

import numpy as np

from dlkit import cli
from dlkit.errors import ConfigError

#: The smallest longest side: VGG16 halves the image four times before block5_conv1, a style layer.
MIN_SIZE = 32


def default_images():
    import skimage

    folder = pathlib.Path(skimage.__file__).parent / "data"
    return folder / "chelsea.png", folder / "ihc.png"


def parse_weights(text):
    try:
        return [float(part) for part in text.split(",")]
    except ValueError as error:
        raise ConfigError(f"--style-weights must be comma-separated numbers. Received: {text!r}") from error


def parse_args(argv=None):
    parser = cli.recipe_parser("style_transfer", __doc__)
    parser.add_argument("--content", default=None, help="content image (default: skimage chelsea.png)")
    parser.add_argument("--style", action="append", default=None, help="style image; repeat to blend")
    parser.add_argument("--style-weights", default=None, help="blend weights, e.g. 0.7,0.3")
    parser.add_argument("--size", type=cli.image_size, default=None,
                        help=f"longest side in pixels, at least {MIN_SIZE} (default 512; quick 224)")
    parser.add_argument("--steps", type=cli.positive_int, default=None,
                        help="optimizer steps (default 300; quick 150)")
    parser.add_argument("--optimizer", choices=("adam", "lbfgs"), default="adam")
    parser.add_argument("--preserve-color", action="store_true", help="keep the content's colors")
    parser.add_argument("--style-weight", type=cli.positive_float, default=None, help="style loss weight")
    parser.add_argument("--content-weight", type=cli.nonnegative_float, default=None,
                        help="content loss weight (0: style only)")
    parser.add_argument("--weights", default="vgg16-hed", help="'vgg16-hed' (offline), 'imagenet' or a path")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.strategy not in ("auto", "default") or args.mixed_precision:
        # One image's pixels are the only variable: nothing to split across devices, and float16 pixels and Gram
        # matrices lose the style loss's small terms.
        raise ConfigError(
            "style transfer optimizes one image on one device in float32; drop --strategy/--mixed-precision. "
            f"Received: --strategy {args.strategy}, --mixed-precision {args.mixed_precision}"
        )
    if args.size is not None and args.size < MIN_SIZE:
        raise ConfigError(f"--size must be at least {MIN_SIZE} pixels (VGG16's five poolings). Received: {args.size}")
    blend = parse_weights(args.style_weights) if args.style_weights else None
    from dlkit import style

    # The images are read (and compared) before the run folder is made or TensorFlow starts.
    default_content, default_style = default_images()
    content = style.load_image(args.content or default_content)
    styles = [style.load_image(path) for path in (args.style or [default_style])]
    for path, item in zip(args.style or [default_style], styles):
        if item.shape == content.shape and np.array_equal(item, content):
            raise ConfigError(
                f"The style image is the content image: there is no other style to transfer. Received: --style {path}"
            )
    out = cli.start_run(args, "style_transfer")

    from dlkit import inference
    from dlkit.errors import TrainingError
    from dlkit.style.plots import plot_losses, plot_triptych

    size = args.size or (224 if args.quick else 512)
    steps = args.steps or (150 if args.quick else 300)
    options = {}
    if args.style_weight is not None:
        options["style_weight"] = args.style_weight
    if args.content_weight is not None:
        options["content_weight"] = args.content_weight
    result = style.stylize(content, styles, steps=steps, size=size, optimizer=args.optimizer,
                           preserve_color=args.preserve_color, style_blend=blend, weights=args.weights,
                           seed=args.seed, **cli.progress_options(args, logs=out / "logs"), **options)
    if not np.isfinite(result.log["total"][-1]) or not np.all(np.isfinite(result.image)):
        raise TrainingError(
            f"Style transfer diverged: the loss is {result.log['total'][-1]} after {result.steps} steps. Lower "
            f"--style-weight / --content-weight. Received: --style-weight {args.style_weight}, "
            f"--content-weight {args.content_weight}"
        )

    style.save_png(result.image, out / "stylized.png")
    # What stylizing another photo the same way needs: the style images and the settings.
    (out / "style").mkdir(exist_ok=True)
    style_files = []
    for index, item in enumerate(styles):
        style.save_png(item, out / "style" / f"style_{index}.png")
        style_files.append(f"style/style_{index}.png")
    settings = dict(steps=steps, size=size, optimizer=args.optimizer, preserve_color=args.preserve_color,
                    style_blend=blend, weights=args.weights, seed=args.seed, **options)
    inference.write_run(out, "style_transfer", "style_transfer", style_images=style_files, settings=settings)
    plot_triptych(content, styles, result.image, out / "triptych.png",
                  title=f"Style transfer: content + style -> result "
                        f"({args.optimizer}, {size} px, {result.steps} steps)")
    plot_losses(result.log, out / "losses.png", title=f"style transfer ({args.optimizer}, {size} px)")

    log = result.log
    metrics = {
        "initial_loss": log["total"][0],
        "final_loss": log["total"][-1],
        # None when the start has no style loss to reduce (a style the content already has).
        "style_loss_reduction": 1.0 - log["style"][-1] / log["style"][0] if log["style"][0] > 0 else None,
        "content_loss": log["content"][-1],
        "seconds_per_step": result.seconds_per_step,
        "train_seconds": round(result.seconds, 2),
        "size": size,
        "steps": result.steps,
        "optimizer": args.optimizer,
    }
    return cli.finish_run(out, metrics, ["final_loss", "style_loss_reduction", "seconds_per_step"],
                                 "style_transfer")



if __name__ == "__main__":
    sys.exit(cli.run(main))
