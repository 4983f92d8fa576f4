@preprocessor typescript
# placeholder; replaced by the parser work
main -> null
