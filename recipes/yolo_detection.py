"""YOLO-style object detection: k-means anchors, a YOLOv2 head, mAP, pictures.

Trains a YOLOv2-style detector (Redmon & Farhadi, YOLO9000, 2017) on the
synthetic shapes set (offline, the default) or on a TFDS detection set such as
``voc/2007``. Anchors come from k-means with distance ``1 - IoU`` on the
training boxes; the detector is a tiny Darknet-style backbone with a 1x1 head
of ``A * (5 + C)`` filters; predictions are decoded and filtered by per-class
NMS, then scored with VOC mAP@0.5 and COCO-style mAP@0.50:0.95 on held-out
images.

Commands::

    python recipes/yolo_detection.py --quick                 # < 60 s on 2 CPU cores
    python recipes/yolo_detection.py                         # shapes, the full run (CPU minutes)
    python recipes/yolo_detection.py --image-size 128        # bigger images, finer grid
    python recipes/yolo_detection.py --dataset voc/2007 --data-dir ~/tensorflow_datasets \\
        --image-size 416 --epochs 100 --backbone mobilenet_v2   # real data (GPU-sized)

Writes into ``--out``: ``config.json``, ``anchors.json`` (relative and grid
units, mean best IoU), ``model.keras`` (the detector as it serves: raw pixels of
any image in, decoding and per-class NMS inside, boxes out in that image's own
pixels; ``keras.models.load_model`` reads it after ``import dlkit``),
``run.json`` (class names, anchors, thresholds), ``detections.png`` (test
images: predictions in colour with scores, ground truth dashed white),
``metrics.json`` (``map50``, ``map50_95``, ``map50_per_class_<name>``,
``mean_anchor_iou``, ``inference_ms_per_image``...), and the training history.
The checkpoints hold the raw YOLO grid model that training used.

    python recipes/predict.py runs/yolo_detection-... photo.jpg --out found/
"""

import os
import sys
import time

import numpy as np

from dlkit import cli
from dlkit.errors import ConfigError

RECIPE = "yolo_detection"


def parse_args(argv=None):
    parser = cli.recipe_parser(RECIPE, __doc__)
    parser.add_argument("--dataset", default="shapes", help="'shapes' (offline) or a TFDS detection set (voc/2007)")
    parser.add_argument("--image-size", type=cli.image_size, default=None,
                        help="square input side, a multiple of 32 (shapes: 64, TFDS: 416)")
    parser.add_argument("--num-anchors", type=cli.positive_int, default=None,
                        help="k of the k-means anchors (default 5, quick 3)")
    parser.add_argument("--train-images", type=cli.positive_int, default=None,
                        help="training images (shapes default 6000)")
    parser.add_argument("--test-images", type=cli.positive_int, default=None,
                        help="test images (shapes default 1000)")
    parser.add_argument("--backbone", default="tiny_darknet", help="'tiny_darknet' or a dlkit.models name")
    parser.add_argument("--learning-rate", type=cli.positive_float, default=1e-2)
    parser.add_argument("--score-threshold", type=cli.fraction, default=0.01, help="scores kept for mAP")
    parser.add_argument("--draw-threshold", type=cli.fraction, default=0.3, help="scores drawn in detections.png")
    parser.add_argument("--iou-threshold", type=cli.fraction, default=0.45, help="NMS IoU threshold")
    return parser.parse_args(argv)


def settings(args):
    """Resolves the defaults that depend on --quick and --dataset."""
    shapes = args.dataset == "shapes"
    quick = args.quick
    image_size = args.image_size or (64 if shapes else 416)
    if image_size < 32 or image_size % 32:
        raise ConfigError(f"--image-size must be a multiple of 32, at least 32. Received: {image_size}")
    return {
        "image_size": image_size,
        "num_anchors": args.num_anchors or (3 if quick else 5),
        "train_images": args.train_images or (1200 if quick else 6000 if shapes else None),
        "test_images": args.test_images or (200 if quick else 1000 if shapes else None),
        "epochs": args.epochs or (12 if quick else 40 if shapes else 100),
        "batch_size": args.batch_size or 32,
        # Stride 8 on shapes (a 8x8 grid at 64 px); stride 32 for VOC-sized inputs, as in YOLOv2.
        "widths": (16, 32, 48) if quick else (16, 32, 64) if shapes else (16, 32, 64, 128, 256),
        "final_width": 64 if quick else 128 if shapes else 512,
    }


def main(argv=None):
    args = parse_args(argv)
    config = settings(args)
    from dlkit.data import TFDS_NAME

    if args.dataset != "shapes" and (os.path.exists(args.dataset) or not TFDS_NAME.match(args.dataset)):
        raise ConfigError(
            "--dataset takes 'shapes' or a TFDS detection set (voc/2007, with --data-dir); a folder of images and "
            f"boxes is not a format this recipe reads. Received: --dataset {args.dataset}"
        )
    out = cli.start_run(args, RECIPE)

    from dlkit import detection, inference, training

    size, batch_size = config["image_size"], config["batch_size"]
    # 1. Data: unbatched (image, {"boxes", "labels"}) training examples, rel_xyxy, padded with -1; the test split
    #    in batches.
    common = {"image_size": size, "seed": args.seed, "data_dir": args.data_dir}
    train, info = detection.data.load(args.dataset, "train", num_images=config["train_images"], batch_size=None,
                                      **common)
    test, _ = detection.data.load(args.dataset, "test", num_images=config["test_images"], batch_size=batch_size,
                                  shuffle=False, **common)
    train_arrays = detection.collect(train, images=False)

    # 2. Anchors: k-means (1 - IoU) on the training boxes' sizes.
    sizes = detection.box_sizes(train_arrays["boxes"])
    anchors, mean_anchor_iou = detection.kmeans_anchors(sizes, config["num_anchors"], seed=args.seed)

    # 3. The detector, built where it trains: in the strategy's scope, in float16 under mixed precision (the head
    #    stays float32).
    with training.build_scope(args.strategy, args.mixed_precision) as strategy:
        model = detection.yolo_detector(
            backbone=args.backbone,
            input_size=(size, size),
            anchors=anchors,
            num_classes=info.num_classes,
            backbone_options={"widths": config["widths"], "final_width": config["final_width"]}
            if args.backbone == "tiny_darknet" else None,
        )
    grid = tuple(model.output_shape[1:3])
    cli.write_json(out / "anchors.json", {
        "anchors_relative_wh": anchors.tolist(),
        "anchors_grid_units_wh": (anchors * np.array([grid[1], grid[0]])).tolist(),
        "grid": list(grid),
        "mean_best_iou": mean_anchor_iou,
        "bounding_box_format": "rel_xyxy",
    })

    # 4. Training: random horizontal flips, batches, YOLO targets encoded for the head's grid and anchors.
    train_batches = detection.training_batches(train, batch_size=batch_size, grid_size=grid, anchors=anchors,
                                               num_classes=info.num_classes)
    result = training.fit(
        model,
        train_batches,
        epochs=config["epochs"],
        optimizer="adam",
        learning_rate=args.learning_rate,
        schedule="cosine",
        warmup_steps=0,
        loss=detection.YoloLoss(anchors),
        metrics=(),
        out=out,
        keep_backup=True,  # until metrics.json exists: a rerun after a kill skips to the evaluation
        strategy=strategy,
        mixed_precision=args.mixed_precision,
        **cli.progress_options(args),
    )
    model = result.model

    # 5. The detector as it serves (pixels in, NMS inside, pixel boxes out), evaluated on held-out images.
    serving = detection.serving_detector(model, anchors, iou_threshold=args.iou_threshold,
                                         score_threshold=args.score_threshold, max_detections=100)
    test_arrays = detection.collect(test)
    pixels = test_arrays["images"] * 255.0
    serving.predict(pixels[:batch_size], verbose=0)  # warm-up
    start = time.perf_counter()
    detections = serving.predict(pixels, batch_size=batch_size, verbose=cli.verbosity(args))
    inference_ms = 1000.0 * (time.perf_counter() - start) / len(pixels)
    detections["boxes"] = np.where(detections["boxes"] >= 0, detections["boxes"] / size, -1.0)  # rel_xyxy
    metrics = detection.evaluate_detections(
        test_arrays["boxes"], test_arrays["labels"], detections["boxes"], detections["classes"],
        detections["scores"], info.num_classes, class_names=info.class_names,
    )

    # 6. Artifacts: the picture, the model.
    shown = slice(0, 8)
    detection.plot_detections(
        out / "detections.png",
        test_arrays["images"][shown],
        detections["boxes"][shown],
        detections["classes"][shown],
        detections["scores"][shown],
        test_arrays["boxes"][shown],
        test_arrays["labels"][shown],
        class_names=info.class_names,
        title=f"{args.dataset}: mAP@0.5 {metrics['map50']:.3f} (coloured: predicted, dashed: true)",
        min_score=args.draw_threshold,
    )
    inference.save_model(serving, out / "model.keras")
    inference.write_run(out, "detection", RECIPE, model="model.keras", class_names=info.class_names,
                        anchors=anchors.tolist(), score_threshold=args.draw_threshold,
                        iou_threshold=args.iou_threshold, input_size=[size, size], bounding_box_format="xyxy")

    metrics.update(
        mean_anchor_iou=mean_anchor_iou,
        inference_ms_per_image=inference_ms,
        num_anchors=len(anchors),
        grid_size=grid[0],
        image_size=size,
        train_images=len(train_arrays["boxes"]),
        test_images=len(test_arrays["boxes"]),
        epochs=result.epochs_run + result.initial_epoch,
        final_loss=result.history["loss"][-1],
        train_seconds=result.seconds,
        params=model.count_params(),
        dataset=args.dataset,
    )
    return cli.finish_run(out, metrics, ["map50", "map50_95", "mean_anchor_iou", "train_seconds"], RECIPE)


if __name__ == "__main__":
    sys.exit(cli.run(main))
