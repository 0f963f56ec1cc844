"""Results for people: run records collected into pandas (:mod:`.records`), the paper's reported numbers
(:mod:`.reported`, ``paper_numbers.yaml``), paper-style tables (:mod:`.tables`), figures (their shared style
:mod:`.figure_style`; :mod:`.comparison_figures`, :mod:`.curve_figures`, :mod:`.visual_grid`,
:mod:`.sweep_figures`), the qualitative tasks' galleries (:mod:`.gallery`), the noise-impedance figure
(:mod:`.impedance`), every output file, page and row name, built and parsed back (:mod:`.naming`), and the
report that assembles them (:mod:`.build`). Each figure family writes its own title and caption."""
