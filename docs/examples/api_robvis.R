# Pull a QUADAS-2 project's final judgements through the REST API and draw
# robvis's traffic-light and summary plots.
#
#   RQS_URL=https://rqs.example.org RQS_TOKEN=rqs_... Rscript docs/examples/api_robvis.R dta
#
# Needs httr2 and robvis (install.packages(c("httr2", "robvis"))).
library(httr2)
library(robvis)

args <- commandArgs(trailingOnly = TRUE)
project <- if (length(args) > 0) args[[1]] else "dta"
base <- Sys.getenv("RQS_URL", "http://127.0.0.1:8000")

fetch_csv <- function(export) {
  request(base) |>
    req_url_path_append("api", "v1", "projects", project, "exports",
                        "quadas-2-1.0", export) |>
    req_auth_bearer_token(Sys.getenv("RQS_TOKEN")) |>
    req_perform() |>
    resp_body_string() |>
    (\(text) read.csv(text = text, check.names = FALSE))()
}

risk <- fetch_csv("robvis")  # Study, D1-D4, Overall, Weight
print(risk)
ggplot2::ggsave("quadas-traffic-light.png",
                rob_traffic_light(risk, tool = "QUADAS-2", psize = 8))
ggplot2::ggsave("quadas-summary.png",
                rob_summary(risk, tool = "QUADAS-2", weighted = FALSE))

applicability <- fetch_csv("robvis-applicability")  # for the Generic template
print(applicability)
