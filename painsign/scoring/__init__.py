"""Pain scorers: the default NFCS proxy and ONNX classifier plug-ins."""
