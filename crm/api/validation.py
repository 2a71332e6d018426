def valid_input(serializer_class, data):
    """The validated data of an input serializer; a DRF ValidationError (rendered as a 400
    naming the fields) otherwise."""
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data
