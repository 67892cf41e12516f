"""A TensorFlow.js Layers model description (model.json's modelTopology, Keras-2 style JSON) rebuilt
as a Keras 3 functional model with the same layer names, and weights moved by name.

Keras 3 cannot read TF.js's JSON itself (its deserializer wants Keras 3 module paths), so each layer
class the project's models use is mapped here to its Keras 3 twin with the same arguments. The
weights of a layer `L` are matched by the TF.js names `L/kernel`, `L/bias`, `L/gamma`, `L/beta`,
`L/moving_mean`, `L/moving_variance`, in the order of TF.js's weight manifest.
"""
import numpy as np


def _subsample_zero_pad_class(keras):
    """Shortcut option A (src/models/cifar.ts): every stride-th pixel, new channels zero, split evenly."""

    class SubsampleZeroPad(keras.layers.Layer):
        def __init__(self, stride, channels, **kwargs):
            super().__init__(**kwargs)
            self.stride = stride
            self.channels = channels

        def call(self, x):
            ops = keras.ops
            sub = x[:, :: self.stride, :: self.stride, :] if self.stride > 1 else x
            extra = self.channels - x.shape[-1]
            before = extra // 2
            return ops.pad(sub, [[0, 0], [0, 0], [0, 0], [before, extra - before]]) if extra else sub

        def compute_output_shape(self, shape):
            sub = lambda d: None if d is None else -(-d // self.stride)
            return (shape[0], sub(shape[1]), sub(shape[2]), self.channels)

        def get_config(self):
            return {**super().get_config(), "stride": self.stride, "channels": self.channels}

    return SubsampleZeroPad


def _pair(v):
    return tuple(v) if isinstance(v, (list, tuple)) else (v, v)


def _layer(keras, class_name, c, weight_decay_l2):
    """The Keras 3 layer for one TF.js layer config `c` (snake_case keys)."""
    L = keras.layers
    name = c["name"]
    reg = keras.regularizers.L2(weight_decay_l2) if weight_decay_l2 > 0 else None
    if class_name == "Conv2D":
        return L.Conv2D(c["filters"], _pair(c["kernel_size"]), strides=_pair(c["strides"]), padding=c["padding"],
                        dilation_rate=_pair(c.get("dilation_rate", 1)), activation=c.get("activation") or "linear",
                        use_bias=c.get("use_bias", True), kernel_regularizer=reg, name=name)
    if class_name == "Dense":
        return L.Dense(c["units"], activation=c.get("activation") or "linear", use_bias=c.get("use_bias", True),
                       kernel_regularizer=reg, name=name)
    if class_name == "BatchNormalization":
        return L.BatchNormalization(axis=c.get("axis", -1), momentum=c.get("momentum", 0.99), epsilon=c.get("epsilon", 1e-3),
                                    center=c.get("center", True), scale=c.get("scale", True), name=name)
    if class_name == "Activation":
        return L.Activation(c["activation"], name=name)
    if class_name == "ReLU":
        return L.ReLU(name=name)
    if class_name == "Add":
        return L.Add(name=name)
    if class_name == "ZeroPadding2D":
        return L.ZeroPadding2D(tuple(tuple(p) for p in c["padding"]), name=name)
    if class_name in ("MaxPooling2D", "AveragePooling2D"):
        cls = L.MaxPooling2D if class_name == "MaxPooling2D" else L.AveragePooling2D
        return cls(_pair(c["pool_size"]), strides=_pair(c.get("strides") or c["pool_size"]), padding=c.get("padding", "valid"), name=name)
    if class_name == "GlobalAveragePooling2D":
        return L.GlobalAveragePooling2D(name=name)
    if class_name == "GlobalMaxPooling2D":
        return L.GlobalMaxPooling2D(name=name)
    if class_name == "Flatten":
        return L.Flatten(name=name)
    if class_name == "Dropout":
        return L.Dropout(c["rate"], name=name)
    if class_name == "SubsampleZeroPad":
        return _subsample_zero_pad_class(keras)(c["stride"], c["channels"], name=name)
    raise ValueError(f"layer '{name}': class {class_name} has no Keras 3 twin here (python/resnet_ts/tfjs_model.py)")


def build_keras_model(keras, topology, weight_decay_l2=0.0):
    """Keras 3 functional model from a TF.js modelTopology (`{"class_name": "Model", "config": ...}`).
    weight_decay_l2 > 0 puts an L2 penalty of that coefficient on every conv and dense kernel."""
    config = topology.get("model_config", topology)["config"]
    tensors = {}  # (layer name, node index) -> output tensor
    pending = list(config["layers"])
    while pending:
        progressed = False
        for spec in list(pending):
            c, cls = spec["config"], spec["class_name"]
            if cls == "InputLayer":
                tensors[(spec["name"], 0)] = keras.Input(shape=tuple(c["batch_input_shape"][1:]), name=spec["name"])
            else:
                nodes = spec["inbound_nodes"]
                if len(nodes) != 1:
                    raise ValueError(f"layer '{spec['name']}' is applied {len(nodes)} times; shared layers are not supported")
                refs = [(ref[0], ref[1]) for ref in nodes[0]]
                if not all(r in tensors for r in refs):
                    continue
                inputs = [tensors[r] for r in refs]
                layer = _layer(keras, cls, c, weight_decay_l2 if cls in ("Conv2D", "Dense") else 0.0)
                tensors[(spec["name"], 0)] = layer(inputs if len(inputs) > 1 else inputs[0])
            pending.remove(spec)
            progressed = True
        if not progressed:
            raise ValueError(f"cannot order the layers {[s['name'] for s in pending]} (missing inputs)")
    inputs = [tensors[(n, i)] for n, i, _ in config["input_layers"]]
    outputs = [tensors[(n, i)] for n, i, _ in config["output_layers"]]
    return keras.Model(inputs if len(inputs) > 1 else inputs[0], outputs if len(outputs) > 1 else outputs[0], name=config.get("name"))


def weight_map(model):
    """TF.js weight name (`layer/variable`) -> the Keras variable."""
    out = {}
    for layer in model.layers:
        for v in layer.weights:
            out[f"{layer.name}/{v.name}"] = v
    return out


def set_weights(model, manifest, flat):
    """Assigns the float32 values `flat` (TF.js manifest order: [{name, shape}]) to the model's variables by name."""
    variables = weight_map(model)
    offset = 0
    missing = [w["name"] for w in manifest if w["name"] not in variables]
    if missing:
        raise ValueError(f"the Keras model has no variables for {missing[:5]}")
    if len(variables) != len(manifest):
        extra = sorted(set(variables) - {w["name"] for w in manifest})
        raise ValueError(f"the Keras model has variables the TF.js model lacks: {extra[:5]}")
    for w in manifest:
        size = int(np.prod(w["shape"], dtype=np.int64))
        value = flat[offset : offset + size].reshape(w["shape"])
        offset += size
        v = variables[w["name"]]
        if tuple(v.shape) != tuple(w["shape"]):
            raise ValueError(f"{w['name']}: Keras shape {tuple(v.shape)}, TF.js shape {tuple(w['shape'])}")
        v.assign(value)
    if offset != flat.size:
        raise ValueError(f"weights file holds {flat.size} values, the manifest describes {offset}")


def get_weights(model, manifest):
    """The model's variables as one float32 array in TF.js manifest order."""
    variables = weight_map(model)
    return np.concatenate([np.asarray(variables[w["name"]].value, dtype=np.float32).ravel() for w in manifest])
