"""Official file formats, read without their original libraries: TFRecord framing
(:mod:`.tfrecord`), protobuf and the NAS-Bench-101 record (:mod:`.protobuf`), and the NAR
authors' cell-information JSON (:mod:`.nar_json`)."""
