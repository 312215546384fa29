"""Pictures of a multi-task run: multi-label predictions, multi-task vs single-task AUC, localization samples."""

import numpy as np

from dlkit.evaluation import _pyplot


def plot_multilabel_samples(images, labels, probabilities, classes, path):
    """Test images, each with its predicted probability per label (green right, red wrong).

    Args:
        images: ``(N, height, width, channels)`` in [0, 1].
        labels: ``(N, len(classes))`` 0/1 truth.
        probabilities: ``(N, len(classes))`` predicted probabilities.
        classes: the label names.
        path: the PNG to write.
    """
    plt = _pyplot()
    columns = 4
    rows = (len(images) + columns - 1) // columns
    cell_height = 2.3 + 0.22 * len(classes)  # room under each image for one line per label
    figure, axes = plt.subplots(rows, columns, figsize=(2.3 * columns, cell_height * rows + 0.4), squeeze=False)
    for index, axis in enumerate(axes.ravel()):
        axis.axis("off")
        if index >= len(images):
            continue
        axis.imshow(images[index].squeeze(), cmap="gray" if images[index].shape[-1] == 1 else None)
        for line, label in enumerate(classes):
            probability = probabilities[index, line]
            right = (probability > 0.5) == bool(labels[index, line])
            mark = "yes" if probability > 0.5 else "no"
            axis.text(
                0.0, -0.03 - 0.1 * line, f"{label}: {mark} ({probability:.2f})", transform=axis.transAxes,
                fontsize=7.5, va="top", color="tab:green" if right else "tab:red",
            )
    figure.suptitle("multi-label predictions on test images (green = right, red = wrong)", fontsize=10)
    height = cell_height * rows + 0.4
    figure.subplots_adjust(left=0.02, right=0.98, top=1 - 0.45 / height, bottom=(0.22 * len(classes) + 0.05) / height,
                           wspace=0.08, hspace=0.1 * len(classes))
    figure.savefig(path, dpi=110)
    plt.close(figure)


def plot_comparison(metrics, classes, path):
    """Per-label AUC of the multi-task network vs one network per label, with their sizes and training times.

    Args:
        metrics: the multi-label run's metrics: ``auc_<label>``, ``single_task_auc_<label>``, ``params``,
            ``single_task_params``, ``multitask_train_seconds``, ``single_task_train_seconds``, ``missing_rate``.
        classes: the label names.
        path: the PNG to write.
    """
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(6, 4.2))
    positions = np.arange(len(classes))
    multi = [metrics[f"auc_{label}"] for label in classes]
    single = [metrics[f"single_task_auc_{label}"] for label in classes]
    axes.bar(positions - 0.2, multi, 0.4, label=f"multi-task ({metrics['params']:,} params, "
             f"{metrics['multitask_train_seconds']:.0f} s)")
    axes.bar(positions + 0.2, single, 0.4, label=f"single-task x{len(classes)} ({metrics['single_task_params']:,} "
             f"params, {metrics['single_task_train_seconds']:.0f} s)")
    for position, (first, second) in enumerate(zip(multi, single)):
        axes.text(position - 0.2, first + 0.005, f"{first:.3f}", ha="center", fontsize=7)
        axes.text(position + 0.2, second + 0.005, f"{second:.3f}", ha="center", fontsize=7)
    low = min(multi + single)
    axes.set_ylim(max(0.0, low - 0.1), 1.02)
    axes.set_xticks(positions, classes)
    axes.set_ylabel("test AUC")
    axes.set_title(f"{metrics['missing_rate']:.0%} of training labels missing", fontsize=10)
    axes.legend(fontsize=7.5, loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=1, frameon=False)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def plot_localization_samples(images, truth, predicted, landmarks, classes, path):
    """Test images with the true box (dashed white), the predicted box, class and landmarks.

    Args:
        images: ``(N, height, width, channels)`` in [0, 1].
        truth: ``(N, 5 + classes)`` targets ``[p_c, box rel_xyxy, one-hot class]``.
        predicted: the localization head's ``(N, 5 + classes)`` outputs.
        landmarks: the landmarks head's ``(N, 2 * points)`` relative coordinates.
        classes: the class names.
        path: the PNG to write.
    """
    from matplotlib.patches import Rectangle

    plt = _pyplot()

    columns = 4
    rows = (len(images) + columns - 1) // columns
    figure, axes = plt.subplots(rows, columns, figsize=(2.3 * columns, 2.5 * rows))
    for index, axis in enumerate(axes.ravel()):
        axis.axis("off")
        if index >= len(images):
            continue
        image = images[index]
        height, width = image.shape[:2]
        axis.imshow(image.squeeze(), cmap="gray" if image.shape[-1] == 1 else None)
        scale = [width, height, width, height]
        if truth[index, 0] > 0.5:
            x0, y0, x1, y1 = truth[index, 1:5] * scale
            axis.add_patch(Rectangle((x0 - 0.5, y0 - 0.5), x1 - x0, y1 - y0, fill=False, ec="white", ls="--", lw=1))
        if predicted[index, 0] > 0.5:
            x0, y0, x1, y1 = predicted[index, 1:5] * scale
            class_id = int(predicted[index, 5:].argmax())
            right = truth[index, 0] > 0.5 and class_id == int(truth[index, 5:].argmax())
            color = "lime" if right else "red"
            axis.add_patch(Rectangle((x0 - 0.5, y0 - 0.5), x1 - x0, y1 - y0, fill=False, ec=color, lw=1.5))
            points = landmarks[index].reshape(-1, 2) * [width, height]
            axis.plot(points[:, 0] - 0.5, points[:, 1] - 0.5, "o", ms=3, color="yellow", mec="black", mew=0.5)
            axis.set_title(f"{classes[class_id]} {predicted[index, 5 + class_id]:.2f}", fontsize=8, color=color)
        else:
            right = truth[index, 0] <= 0.5
            axis.set_title(f"no object ({predicted[index, 0]:.2f})", fontsize=8, color="green" if right else "red")
    figure.suptitle("predicted box, class, landmarks (dashed: truth)", fontsize=10)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
